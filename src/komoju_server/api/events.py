"""/events: the event log, newest first; one event; and sending an event again.

`POST /events/:id/redeliver` and `GET /events/:id/deliveries` are this server's extensions.
"""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.runtime import Runtime


class EventList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = await requests.list_query(req)
        number, per_page = page_params(query)
        filter_ = inputs.event_filter(query)
        total, events = await self._rt.events.page_answers(req.context.caller, number, per_page, filter_)
        send(resp, envelope(events, total, number, per_page))


class EventItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, event_id: str) -> None:
        send(resp, await self._rt.events.get(req.context.caller, event_id))


class EventRedelivery:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, event_id: str) -> None:
        await requests.body(req)  # nothing to read, but a malformed body is still a 400
        send(resp, await self._rt.webhooks.redeliver(req.context.caller, event_id))


class EventDeliveries:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, event_id: str) -> None:
        number, per_page = page_params(await requests.list_query(req))
        total, deliveries = await self._rt.webhooks.event_deliveries(req.context.caller, event_id, number, per_page)
        send(resp, envelope([d.to_api() for d in deliveries], total, number, per_page))


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/events", EventList(runtime))
    app.add_route(f"{prefix}/events/{{event_id}}", EventItem(runtime))
    app.add_route(f"{prefix}/events/{{event_id}}/redeliver", EventRedelivery(runtime))
    app.add_route(f"{prefix}/events/{{event_id}}/deliveries", EventDeliveries(runtime))
