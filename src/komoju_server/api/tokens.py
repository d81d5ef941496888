"""/tokens: one-time tokens for payment details; a publishable key may make them."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import requests
from komoju_server.api.responses import send
from komoju_server.runtime import Runtime


class TokenList:
    # The weakest key this resource takes: KOMOJU's client-side libraries tokenize with
    # the publishable key, so POST is open to it (and to the secret key).
    access = "publishable"
    publishable_methods = ("POST",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        token = await self._rt.tokens.create(req.context.caller, body)
        send(resp, token.to_api())


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/tokens", TokenList(runtime))
