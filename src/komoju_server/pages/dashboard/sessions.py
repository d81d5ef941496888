"""Sessions: the list (with the API's time filters and paging) and a session's page: the
session as GET /api/v1/sessions/:id answers it, with links to its hosted page and its payment.
(KOMOJU's API has no list of sessions; the dashboard reads the table directly.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api import inputs
from komoju_server.api.payments import base_url
from komoju_server.domain.caller import Caller
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, checked_id

PATH = BASE + "/sessions"


class SessionList(ListPage):
    section = "sessions"
    template = "dashboard/sessions.html"
    filters = ("start_time", "end_time")

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.sessions.page(caller, inputs.time_range(dict(query)), number, per_page)


class SessionItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        caller = await self.dash.caller(req)
        shown = await self.rt.sessions.show(caller, checked_id(session_id), base_url(self.rt, req))
        self.dash.render(req, resp, caller, "dashboard/session.html", section="sessions", session=shown)


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, SessionList(dashboard))
    app.add_route(PATH + "/{session_id}", SessionItem(dashboard))
