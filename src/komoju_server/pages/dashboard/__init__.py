"""The dashboard at /dashboard: a merchant signs in with a secret key and sees and acts on its
payments, customers, subscriptions, tokens, events, webhooks, sandbox and recent requests.

Server-rendered like every page here (no script, nothing from elsewhere), in Japanese, English
and Korean. Every action goes through the same services as the API, with the same typed inputs.

Adding a resource is one entry in `SECTIONS` (its navigation link, words `dashboard.nav_<name>`)
and its module `pages/dashboard/<name>.py` with an `add_routes(app, dashboard)`; its templates
go in `templates/dashboard/`, its words in `messages/dashboard.json`.
"""

from __future__ import annotations

import importlib
from typing import Any

import falcon
import falcon.asgi

from komoju_server.pages.dashboard.site import BASE, SIGN_IN, Dashboard, DashboardPage, Section, SignInFirst
from komoju_server.pages.render import Pages
from komoju_server.runtime import Runtime

SECTIONS: tuple[Section, ...] = (
    Section("payments"),
    Section("sessions"),
    Section("customers"),
    Section("subscriptions"),
    Section("tokens"),
    Section("events"),
    Section("webhooks"),
    Section("sandbox", test_only=True),
    Section("requests"),
)


class Home(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.dash.caller(req)
        self.dash.redirect(resp, self.dash.sections[0].path)


def add_routes(app: falcon.asgi.App, runtime: Runtime, pages: Pages) -> None:
    from komoju_server.pages.dashboard import session

    dashboard = Dashboard(runtime, pages, SECTIONS)

    async def sign_in_first(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: Any, params: Any) -> None:
        pages.redirect(resp, SIGN_IN)

    app.add_error_handler(SignInFirst, sign_in_first)
    app.add_route(BASE, Home(dashboard))
    session.add_routes(app, dashboard)
    for section in SECTIONS:
        importlib.import_module(f"komoju_server.pages.dashboard.{section.name}").add_routes(app, dashboard)
