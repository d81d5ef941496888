"""The sandbox (test mode only): the merchant's clock and advancing it, and erasing the test
data; each behind a confirmation page (the first post shows what will happen, the confirmed
one does it). Through the same service as /api/v1/sandbox/clock/advance and /sandbox/reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon
import falcon.asgi

from komoju_server.domain import clock, rules
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError, invalid
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, Problem, text

PATH = BASE + "/sandbox"
# The units the advance form offers, in seconds (words: dashboard.unit_<name>).
UNITS = {"minutes": 60, "hours": 3600, "days": 86_400}


def seconds_of(form: Mapping[str, Any]) -> tuple[int, str, int]:
    """(seconds, unit, how many) from the form's `amount` and `unit`; the service checks the range."""
    unit = text(form.get("unit"))
    amount = rules.whole_number(text(form.get("amount")).strip())
    if unit not in UNITS:
        raise invalid("unit")
    if amount is None:
        raise invalid("seconds")
    return amount * UNITS[unit], unit, amount


class Sandbox(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        await show(self, req, resp, caller)


async def show(
    page: DashboardPage,
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    caller: Caller,
    problem: Problem | None = None,
    status: int = 200,
) -> None:
    try:
        now, offset = await page.rt.sandbox.now(caller)
    except ApiError as error:  # live mode: the sandbox is test mode's alone
        now, offset = None, None
        problem, status = problem or page.dash.problem(error), error.status
    page.dash.render(
        req,
        resp,
        caller,
        "dashboard/sandbox.html",
        status=status,
        section="sandbox",
        here=PATH,
        now=None if now is None else clock.iso(now),
        offset=offset,
        units=UNITS,
        problem=problem,
    )


class Advance(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        try:
            seconds, unit, amount = seconds_of(form)
            if form.get("confirmed") != "yes":
                now, _ = await self.rt.sandbox.now(caller)
                self.dash.render(
                    req,
                    resp,
                    caller,
                    "dashboard/confirm.html",
                    section="sandbox",
                    here=PATH,
                    question=f"dashboard.confirm_advance_{unit}",
                    question_fields={"amount": amount},
                    detail=f"{clock.iso(now)} \u2192 {clock.iso(now + seconds)}",
                    action=PATH + "/advance",
                    fields={"amount": str(amount), "unit": unit},
                    button="dashboard.advance",
                    back=PATH,
                )
                return
            await self.rt.sandbox.advance(caller, {"seconds": seconds})
        except ApiError as error:
            await show(self, req, resp, caller, self.dash.problem(error), error.status)
            return
        self.dash.redirect(resp, PATH, done="advance")


class Reset(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        try:
            if form.get("confirmed") != "yes":
                await self.rt.sandbox.now(caller)  # test mode only: a live session is refused here
                self.dash.render(
                    req,
                    resp,
                    caller,
                    "dashboard/confirm.html",
                    section="sandbox",
                    here=PATH,
                    question="dashboard.confirm_reset",
                    question_fields={},
                    detail="",
                    action=PATH + "/reset",
                    fields={},
                    button="dashboard.reset",
                    back=PATH,
                )
                return
            await self.rt.sandbox.reset(caller)
        except ApiError as error:
            await show(self, req, resp, caller, self.dash.problem(error), error.status)
            return
        self.dash.redirect(resp, PATH, done="reset")


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, Sandbox(dashboard))
    app.add_route(PATH + "/advance", Advance(dashboard))
    app.add_route(PATH + "/reset", Reset(dashboard))
