"""Subscriptions: the list (time filters, paging) and a subscription's page: its schedule, the
payments it made, and its events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api import inputs
from komoju_server.domain.caller import Caller
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, checked_id
from komoju_server.pages.dashboard.timeline import timeline

PATH = BASE + "/subscriptions"


class SubscriptionList(ListPage):
    section = "subscriptions"
    template = "dashboard/subscriptions.html"
    filters = ("start_time", "end_time")

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.subscriptions.page(caller, inputs.time_range(dict(query)), number, per_page)


class SubscriptionItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, subscription_id: str) -> None:
        caller = await self.dash.caller(req)
        subscription = await self.rt.subscriptions.get(caller, checked_id(subscription_id))
        self.dash.render(
            req,
            resp,
            caller,
            "dashboard/subscription.html",
            section="subscriptions",
            subscription=subscription.to_api(),
            moments=await timeline(self.rt, caller, subscription.id),
        )


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, SubscriptionList(dashboard))
    app.add_route(PATH + "/{subscription_id}", SubscriptionItem(dashboard))
