"""Customers: the list (with the API's time filters and paging) and a customer's page: its
stored details as the API shows them (never a card number) and its events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api import inputs
from komoju_server.domain.caller import Caller
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, checked_id
from komoju_server.pages.dashboard.timeline import timeline

PATH = BASE + "/customers"


class CustomerList(ListPage):
    section = "customers"
    template = "dashboard/customers.html"
    filters = ("start_time", "end_time")

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.customers.page(caller, inputs.time_range(dict(query)), number, per_page)


class CustomerItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, customer_id: str) -> None:
        caller = await self.dash.caller(req)
        customer = await self.rt.customers.get(caller, checked_id(customer_id))
        self.dash.render(
            req,
            resp,
            caller,
            "dashboard/customer.html",
            section="customers",
            customer=customer.to_api(),
            moments=await timeline(self.rt, caller, customer.id),
        )


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, CustomerList(dashboard))
    app.add_route(PATH + "/{customer_id}", CustomerItem(dashboard))
