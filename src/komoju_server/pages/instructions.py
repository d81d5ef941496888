"""The instructions page of a konbini, bank transfer or Pay-easy payment: `instructions_url`,
GET /instructions/{payment_id}.

What the customer needs to pay (the store's numbers, the bank account, the Pay-easy numbers),
how to pay step by step (`how_to_pay.py`), and the payment's status: a paid, expired or
cancelled payment says so instead of asking for payment. A test-mode payment has a "simulate
payment" form, which completes it as POST /api/v1/sandbox/payments/:id/complete does.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi

from komoju_server.domain.errors import ApiError
from komoju_server.methods import Family
from komoju_server.pages import how_to_pay
from komoju_server.pages.locale import LOCALES
from komoju_server.pages.render import PageError, Pages
from komoju_server.runtime import Runtime
from komoju_server.services.payment_pages import Facing

PATH = "/instructions"
REFUSED = ("not_capturable",)  # already paid, expired, cancelled: nothing left to simulate


def asked_locale(req: falcon.asgi.Request) -> str:
    """`?locale=xx` to carry over to the page's form and redirect, when the customer chose one."""
    asked = req.get_param("locale")
    return f"?locale={asked}" if asked in LOCALES else ""


def already_done(pages: Pages, req: falcon.asgi.Request, resp: falcon.asgi.Response, facing: Facing) -> None:
    """409: the payment is no longer waiting for this (paid, expired, decided), in its own language."""
    locale = pages.locale(req, facing.payment.locale)
    pages.render(req, resp, "error.html", locale, status=409, message="common.conflict")


def method_context(facing: Facing, locale: str) -> dict[str, Any]:
    """What the template of the payment's method shows besides the payment itself."""
    details = facing.payment.details
    kind = facing.method.type
    if kind == "konbini":
        chain = how_to_pay.KONBINI[details["store"]]
        return {"chain": chain, "steps": how_to_pay.filled(chain.steps, locale, details)}
    if kind == "bank_transfer":
        return {"steps": how_to_pay.filled(how_to_pay.BANK_TRANSFER, locale, details)}
    return {
        "atm_steps": how_to_pay.filled(how_to_pay.PAY_EASY_ATM, locale, details),
        "online_steps": how_to_pay.filled(how_to_pay.PAY_EASY_ONLINE, locale, details),
    }


class InstructionsPage:
    access = None  # no API key: the payment's id is the key
    page = True

    def __init__(self, runtime: Runtime, pages: Pages) -> None:
        self._rt = runtime
        self._pages = pages

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        # Live payments too: a live processor may send its customers here (without the test box).
        facing = await self._rt.payment_pages.show(payment_id, Family.DELAYED, live=True)
        locale = self._pages.locale(req, facing.payment.locale)
        self._pages.render(
            req,
            resp,
            "instructions.html",
            locale,
            payment=facing.payment,
            merchant=facing.merchant,
            back_url=facing.back_url,
            open=facing.open,
            test_mode=facing.test_mode,
            action_url=f"{PATH}/{facing.payment.id}{asked_locale(req)}",
            **(method_context(facing, locale) if facing.open else {}),
        )

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        form = await self._pages.form(req)  # a form from elsewhere (no CSRF token) stops here: 403
        if form.get("simulate") != "pay":
            raise PageError(400)
        try:
            facing = await self._rt.payment_pages.act(payment_id, Family.DELAYED, "pay")
        except ApiError as refused:
            if refused.code not in REFUSED:
                raise
            already_done(self._pages, req, resp, await self._rt.payment_pages.show(payment_id, Family.DELAYED))
            return
        self._pages.redirect(resp, f"{PATH}/{facing.payment.id}{asked_locale(req)}")


def add_routes(app: falcon.asgi.App, runtime: Runtime, pages: Pages) -> None:
    app.add_route(PATH + "/{payment_id}", InstructionsPage(runtime, pages))
