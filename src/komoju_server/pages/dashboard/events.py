"""Events: the log, newest first; an event's page with every delivery attempt (what was sent,
what the receiver answered); and sending an event again (`POST /api/v1/events/:id/redeliver`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.domain.caller import Caller
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, checked_id
from komoju_server.pages.dashboard.timeline import Moment, pretty

PATH = BASE + "/events"
# Where an event about an object is best seen: the object's own page, with its whole timeline.
PAGE_OF = {"payment": BASE + "/payments", "customer": BASE + "/customers", "subscription": BASE + "/subscriptions"}


def home_of(event: Mapping[str, Any]) -> str:
    data = event.get("data")
    if isinstance(data, dict) and data.get("resource") in PAGE_OF and isinstance(data.get("id"), str):
        return f"{PAGE_OF[data['resource']]}/{data['id']}"
    return f"{PATH}/{event['id']}"


class EventList(ListPage):
    section = "events"
    template = "dashboard/events.html"

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.events.page(caller, number, per_page)

    def context(self) -> dict[str, Any]:
        return {"home_of": home_of}


class EventItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, event_id: str) -> None:
        caller = await self.dash.caller(req)
        event = await self.rt.events.get(caller, checked_id(event_id))
        moment = Moment(event, pretty(event), await self.rt.webhooks.of_events(caller, [event["id"]]))
        self.dash.render(
            req,
            resp,
            caller,
            "dashboard/event.html",
            section="events",
            moment=moment,
            home=home_of(event),
        )


class Redeliver(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, event_id: str) -> None:
        caller = await self.dash.caller(req)
        await self.dash.form(req)
        event = await self.rt.webhooks.redeliver(caller, checked_id(event_id))
        self.dash.redirect(resp, home_of(event), done="redeliver")


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, EventList(dashboard))
    app.add_route(PATH + "/{event_id}", EventItem(dashboard))
    app.add_route(PATH + "/{event_id}/redeliver", Redeliver(dashboard))
