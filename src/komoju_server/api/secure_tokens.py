"""/secure_tokens: card details authenticated with 3-D Secure for one payment.

Like /tokens, a publishable key may make them (KOMOJU's mobile SDK does, from the customer's
device) and read them back; the secret key may too.
"""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.payments import base_url
from komoju_server.api.responses import send
from komoju_server.runtime import Runtime
from komoju_server.services.tokens import PREFIX


class SecureTokenList:
    access = "publishable"
    publishable_methods = ("POST",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        new = inputs.new_secure_token(await requests.body(req))
        token = await self._rt.secure_tokens.create(req.context.caller, new, base_url(self._rt, req))
        send(resp, token.to_api(created=True))


class SecureTokenItem:
    access = "publishable"
    publishable_methods = ("GET",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, suffix: str) -> None:
        token = await self._rt.secure_tokens.get(req.context.caller, PREFIX + suffix)
        send(resp, token.to_api())


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/secure_tokens", SecureTokenList(runtime))
    # Ids are `tok_` and 25 letters or digits: the path's field is what follows `tok_`, so the
    # id check every path gets (lowercase letters and digits) applies to it.
    app.add_route(f"{prefix}/secure_tokens/{PREFIX}{{suffix}}", SecureTokenItem(runtime))
