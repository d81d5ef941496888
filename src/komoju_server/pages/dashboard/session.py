"""Signing in with a secret key, and signing out.

The session cookie holds a random value (its digest is the session's row: see
services/dashboard_sessions.py), never the key: HttpOnly, SameSite=Strict, Secure over HTTPS,
and sent only to /dashboard.
"""

from __future__ import annotations

import datetime as dt

import falcon
import falcon.asgi

from komoju_server.api import requests
from komoju_server.domain.errors import ApiError
from komoju_server.pages.dashboard.site import BASE, SESSION_COOKIE, SIGN_IN, Dashboard, DashboardPage, secure
from komoju_server.services.dashboard_sessions import LIFETIME
from komoju_server.services.throttle import Throttled


class SignIn(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if await self.rt.dashboard_sessions.caller(req.cookies.get(SESSION_COOKIE)) is not None:
            self.dash.redirect(resp, BASE)
            return
        self.dash.render(req, resp, None, "dashboard/sign_in.html", problem=None)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        form = await self.dash.form(req)
        key = form.get("secret_key")
        try:
            # Wrong keys count against the client's address as on the API (services/throttle.py).
            address = requests.peer_address(req.scope)
            self.rt.throttle.check_address(address)
            try:
                value, _ = await self.rt.dashboard_sessions.sign_in(key if isinstance(key, str) else "")
            except ApiError as refused:
                if refused.code == "unauthorized":
                    self.rt.throttle.failed(address)
                raise
        except ApiError as error:
            # Never echoed back: the key field comes back empty.
            self.dash.render(
                req, resp, None, "dashboard/sign_in.html", status=error.status, problem=self.dash.problem(error)
            )
            if isinstance(error, Throttled):
                resp.set_header("Retry-After", str(error.retry_after))
            return
        resp.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=LIFETIME,
            path=BASE,
            http_only=True,
            same_site="Strict",
            secure=secure(req),
        )
        self.dash.redirect(resp, BASE)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SignOut(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.dash.form(req)
        await self.rt.dashboard_sessions.sign_out(req.cookies.get(SESSION_COOKIE))
        # Expired long ago and Max-Age=0, with the attributes it was set with: gone at once
        # (Falcon's unset_cookie dates it a second back, which a busy browser kept a moment).
        resp.set_cookie(
            SESSION_COOKIE,
            "",
            expires=EPOCH,
            max_age=0,
            path=BASE,
            http_only=True,
            same_site="Strict",
            secure=secure(req),
        )
        self.dash.redirect(resp, SIGN_IN, done="signed_out")


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(SIGN_IN, SignIn(dashboard))
    app.add_route(BASE + "/sign_out", SignOut(dashboard))
