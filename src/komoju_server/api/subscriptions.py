"""/subscriptions: create (with the first charge), list, show, delete."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.payments import base_url, scenario
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.runtime import Runtime


class SubscriptionList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = await requests.list_query(req)
        number, per_page = page_params(query)
        total, found = await self._rt.subscriptions.page(req.context.caller, inputs.time_range(query), number, per_page)
        send(resp, envelope([s.to_api() for s in found], total, number, per_page))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        caller = req.context.caller
        created = await self._rt.subscriptions.create(caller, body, base_url(self._rt, req), scenario(self._rt, req))
        send(resp, created.to_api())


class SubscriptionItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, subscription_id: str) -> None:
        send(resp, (await self._rt.subscriptions.get(req.context.caller, subscription_id)).to_api())

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, subscription_id: str) -> None:
        send(resp, (await self._rt.subscriptions.delete(req.context.caller, subscription_id)).to_api())


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/subscriptions", SubscriptionList(runtime))
    app.add_route(f"{prefix}/subscriptions/{{subscription_id}}", SubscriptionItem(runtime))
