"""The merchant's recent API requests in this mode, newest first: method, path, status, time and
request id (services/recent_requests.py keeps them; never a body, a header or a key)."""

from __future__ import annotations

import falcon
import falcon.asgi

from komoju_server.domain import clock
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage

PATH = BASE + "/requests"


class RecentRequests(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        rows = await self.rt.recent_requests.newest(caller)
        self.dash.render(req, resp, caller, "dashboard/requests.html", section="requests", rows=rows, when=when)


def when(ms: int) -> str:
    """A request's time as the API writes times, to the millisecond: 2026-01-31T09:00:00.123Z."""
    return f"{clock.iso(ms // 1000)[:-1]}.{ms % 1000:03d}Z"


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, RecentRequests(dashboard))
