"""/customers: payment details kept for later payments: create, list, show, update, delete."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.payments import scenario
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.runtime import Runtime


class CustomerList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = await requests.list_query(req)
        number, per_page = page_params(query)
        total, customers = await self._rt.customers.page(req.context.caller, inputs.time_range(query), number, per_page)
        send(resp, envelope([c.to_api() for c in customers], total, number, per_page))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        customer = await self._rt.customers.create(req.context.caller, body, scenario(self._rt, req))
        send(resp, customer.to_api())


class CustomerItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, customer_id: str) -> None:
        send(resp, (await self._rt.customers.get(req.context.caller, customer_id)).to_api())

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, customer_id: str) -> None:
        body = await requests.body(req)
        send(resp, (await self._rt.customers.update(req.context.caller, customer_id, body)).to_api())

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, customer_id: str) -> None:
        send(resp, (await self._rt.customers.delete(req.context.caller, customer_id)).to_api())


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/customers", CustomerList(runtime))
    app.add_route(f"{prefix}/customers/{{customer_id}}", CustomerItem(runtime))
