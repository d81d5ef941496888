"""Payments: the list with the API's filters and paging, a payment's page (details, refunds,
and its timeline: every event and every webhook delivery attempt, with the request sent and
what the receiver answered), and the actions the API has on it.

An action's form is parsed by the API's own parsers (`api/inputs.py`) into the services' typed
inputs and runs through the same service as `POST /api/v1/payments/:id/<action>` (complete and
fail: the sandbox's, as `POST /api/v1/sandbox/payments/:id/<action>`; completing or rejecting
a refund request: as `POST /api/v1/sandbox/payments/:id/refund_requests/:rid/<complete|reject>`). Done, the browser goes
back to the payment's page (See Other) with a notice; refused, the page shows KOMOJU's error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api import inputs
from komoju_server.domain import params, states, versions
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.money import CURRENCIES
from komoju_server.domain.payment import Payment
from komoju_server.methods import BY_TYPE, Family
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, Problem, checked_id
from komoju_server.pages.dashboard.timeline import timeline
from komoju_server.pages.render import PageError
from komoju_server.services.payments import RefundRequestOutcome

PATH = BASE + "/payments"
Action = Callable[[DashboardPage, Caller, str, Mapping[str, Any]], Awaitable[Payment]]


async def _capture(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
    return await page.rt.payments.capture(caller, payment_id, inputs.capture(dict(form)))


async def _refund(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
    return await page.rt.payments.refund(caller, payment_id, inputs.refund(dict(form)))


async def _cancel(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
    return await page.rt.payments.cancel(caller, payment_id)


async def _complete(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
    return await page.rt.sandbox.complete(caller, payment_id)


async def _fail(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
    return await page.rt.sandbox.fail(caller, payment_id)


def _refund_request_outcome(outcome: RefundRequestOutcome) -> Action:
    async def settle(page: DashboardPage, caller: Caller, payment_id: str, form: Mapping[str, Any]) -> Payment:
        request_id = form.get("refund_request")
        if not isinstance(request_id, str) or not params.object_id(request_id):
            raise ApiError("not_found")
        return await page.rt.sandbox.settle_refund_request(caller, payment_id, request_id, outcome)

    return settle


# The actions, by the last part of their URL (also their notice: `dashboard.done_<name>`).
ACTIONS: dict[str, Action] = {
    "capture": _capture,
    "refund": _refund,
    "cancel": _cancel,
    "complete": _complete,
    "fail": _fail,
    "complete_refund_request": _refund_request_outcome("completed"),
    "reject_refund_request": _refund_request_outcome("rejected"),
}


def available(payment: Payment, caller: Caller) -> list[str]:
    """The actions a payment's page offers now (the services decide, and may still refuse)."""
    method = BY_TYPE.get(payment.method_type)
    family = method.family if method else None
    found: list[str] = []
    if family is Family.CARD and payment.status == "authorized":
        found.append("capture")
    if method is not None and method.refundable and payment.status == "captured" and payment.refundable_amount > 0:
        found.append("refund")
    if states.allowed("cancel", payment.status):
        found.append("cancel")
    if caller.mode == "test":
        if family in (Family.DELAYED, Family.REDIRECT) and payment.status == "authorized":
            found.append("complete")
        if states.allowed("fail", payment.status):
            found.append("fail")
        if any(r["status"] == "pending" for r in payment.refund_requests):
            found.append("settle_refund_requests")
    return found


class PaymentList(ListPage):
    section = "payments"
    template = "dashboard/payments.html"
    filters = ("status", "currency", "external_order_num", "start_time", "end_time")

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.payments.page(caller, inputs.payment_filter(dict(query)), number, per_page)

    def context(self) -> dict[str, Any]:
        return {"statuses": states.STATUSES, "currencies": tuple(CURRENCIES)}


class PaymentItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        caller = await self.dash.caller(req)
        await show(self, req, resp, caller, checked_id(payment_id))


async def show(
    page: DashboardPage,
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    caller: Caller,
    payment_id: str,
    problem: Problem | None = None,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
) -> None:
    payment = await page.rt.payments.get(caller, payment_id)
    page.dash.render(
        req,
        resp,
        caller,
        "dashboard/payment.html",
        status=status,
        section="payments",
        here=f"{PATH}/{payment.id}",
        payment=payment,
        answer=payment.to_api(versions.LATEST),
        actions=available(payment, caller),
        moments=await timeline(page.rt, caller, payment.id),
        problem=problem,
        form={k: v for k, v in (form or {}).items() if isinstance(v, str)},
    )


class PaymentAction(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str, action: str) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        act = ACTIONS.get(action)
        if act is None:
            raise PageError(404)
        payment_id = checked_id(payment_id)
        try:
            await act(self, caller, payment_id, form)
        except ApiError as error:
            if error.code == "not_found":
                raise
            await show(
                self, req, resp, caller, payment_id, problem=self.dash.problem(error), status=error.status, form=form
            )
            return
        self.dash.redirect(resp, f"{PATH}/{payment_id}", done=action)


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, PaymentList(dashboard))
    app.add_route(PATH + "/{payment_id}", PaymentItem(dashboard))
    app.add_route(PATH + "/{payment_id}/{action}", PaymentAction(dashboard))
