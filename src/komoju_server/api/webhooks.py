"""/webhooks: the endpoints events are sent to, and their deliveries (this server's extension;
KOMOJU manages webhooks in its dashboard). `PATCH /webhooks/:id` changes an endpoint's `url`,
`secret_token` or `events`; `POST /webhooks/:id/ping` sends it a new `ping` event."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import requests
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.runtime import Runtime


class WebhookList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        number, per_page = page_params(await requests.list_query(req))
        total, endpoints = await self._rt.webhooks.page(req.context.caller, number, per_page)
        send(resp, envelope([e.to_api() for e in endpoints], total, number, per_page))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        send(resp, (await self._rt.webhooks.create(req.context.caller, body)).to_api())


class WebhookItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        send(resp, (await self._rt.webhooks.get(req.context.caller, webhook_id)).to_api())

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        body = await requests.body(req)
        send(resp, (await self._rt.webhooks.update(req.context.caller, webhook_id, body)).to_api())

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        send(resp, (await self._rt.webhooks.delete(req.context.caller, webhook_id)).to_api())


class WebhookPing:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        await requests.body(req)  # nothing to read, but a malformed body is still a 400
        send(resp, await self._rt.webhooks.ping(req.context.caller, webhook_id))


class WebhookDeliveries:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        number, per_page = page_params(await requests.list_query(req))
        total, deliveries = await self._rt.webhooks.deliveries(req.context.caller, webhook_id, number, per_page)
        send(resp, envelope([d.to_api() for d in deliveries], total, number, per_page))


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/webhooks", WebhookList(runtime))
    app.add_route(f"{prefix}/webhooks/{{webhook_id}}", WebhookItem(runtime))
    app.add_route(f"{prefix}/webhooks/{{webhook_id}}/deliveries", WebhookDeliveries(runtime))
    app.add_route(f"{prefix}/webhooks/{{webhook_id}}/ping", WebhookPing(runtime))
