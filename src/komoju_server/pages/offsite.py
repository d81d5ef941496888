"""The offsite page of a redirect payment (carrier billing, LINE Pay, Merpay, Paidy, ...):
`redirect_url`, GET /offsite/{payment_id}.

In test mode it stands in for the provider's site: the customer approves, declines or cancels,
and goes back to the merchant (`services/payment_pages.back_url`), or, without a return_url,
sees the result here. Approve completes the payment as POST /api/v1/sandbox/payments/:id/complete
does (captured), decline fails it as .../fail does, cancel cancels it as POST /payments/:id/cancel
does. A payment no longer waiting shows its status instead of the buttons. Live payments have
no such page: their redirect_url is the live processor's.
"""

from __future__ import annotations

import falcon
import falcon.asgi

from komoju_server.domain.errors import ApiError
from komoju_server.methods import Family
from komoju_server.methods import listing as methods_listing
from komoju_server.pages.instructions import already_done, asked_locale
from komoju_server.pages.render import PageError, Pages
from komoju_server.runtime import Runtime
from komoju_server.services.payment_pages import Action

PATH = "/offsite"
# The buttons: the form's `decision` -> what it does to the payment.
DECISIONS: dict[str, Action] = {"approve": "pay", "decline": "decline", "cancel": "cancel"}
REFUSED = ("not_capturable", "not_cancellable")  # no longer waiting: decided already, or expired


class OffsitePage:
    access = None  # no API key: the payment's id is the key
    page = True

    def __init__(self, runtime: Runtime, pages: Pages) -> None:
        self._rt = runtime
        self._pages = pages

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        facing = await self._rt.payment_pages.show(payment_id, Family.REDIRECT)
        locale = self._pages.locale(req, facing.payment.locale)
        self._pages.render(
            req,
            resp,
            "offsite.html",
            locale,
            payment=facing.payment,
            merchant=facing.merchant,
            method_name=methods_listing.name(facing.method.type, locale),
            back_url=facing.back_url,
            open=facing.open,
            test_mode=facing.test_mode,
            action_url=f"{PATH}/{facing.payment.id}{asked_locale(req)}",
        )

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        form = await self._pages.form(req)  # a form from elsewhere (no CSRF token) stops here: 403
        decision = form.get("decision")
        if not isinstance(decision, str) or decision not in DECISIONS:
            raise PageError(400)
        try:
            facing = await self._rt.payment_pages.act(payment_id, Family.REDIRECT, DECISIONS[decision])
        except ApiError as refused:
            if refused.code not in REFUSED:
                raise
            already_done(self._pages, req, resp, await self._rt.payment_pages.show(payment_id, Family.REDIRECT))
            return
        # Back to the merchant, or to this page, which now shows the result.
        self._pages.redirect(resp, facing.back_url or f"{PATH}/{facing.payment.id}{asked_locale(req)}")


def add_routes(app: falcon.asgi.App, runtime: Runtime, pages: Pages) -> None:
    app.add_route(PATH + "/{payment_id}", OffsitePage(runtime, pages))
