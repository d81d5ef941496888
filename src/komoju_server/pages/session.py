"""The hosted payment page at a session's `session_url` (GET /sessions/{id}).

The customer picks one of the session's methods (a link per method: the page has no script),
fills that method's fields, generated from the methods catalogue and named as the API names
them (`payment_details[number]`, `payment_details[store]`, ...), and submits; the page pays
the session through the sessions service, exactly as POST /api/v1/sessions/{id}/pay does.

- An error shows in place, the form keeping what was typed but its secrets (card number, CVV,
  prepaid numbers, passwords), which are never sent back to the browser.
- Once paid, the customer goes on: a redirect method to its `redirect_url`, konbini, bank
  transfer and Pay-easy to the payment's `instructions_url`, anything else to the merchant's
  `return_url` with `session_id` added (as KOMOJU does); with no return_url the page itself
  says the payment is done.
- The cancel button (a form: it changes the session) cancels the session and returns to the
  return_url the same way.
- A completed, cancelled or expired session shows a page saying so.

The language is the customer's `?locale=`, else the session's `default_locale`.

A card goes through 3-D Secure first, as on KOMOJU's hosted page (`_pay_card`): the page makes
a secure token for the session's amount with the typed card; a card without 3-D Secure
(SKIPPED) pays at once, any other sends the customer to the token's authentication page, which
comes back to `/sessions/{id}/three_d_secure?secure_token_id=...`, where a verified token pays
the session and a failed one shows the form again with the reason. Secure tokens are a test-mode
feature here (no live 3-D Secure), and a session that saves a customer stores the card as
typed: those cards pay directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import falcon.asgi

from komoju_server.api.payments import base_url
from komoju_server.domain import secure_token
from komoju_server.domain import session as model
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.session import Session
from komoju_server.methods import BY_TYPE, Family, Method
from komoju_server.methods.catalogue import CARRIERS, KONBINI_STORES
from komoju_server.methods.listing import name as method_name
from komoju_server.pages.render import PageError, Pages
from komoju_server.runtime import Runtime
from komoju_server.services.session_inputs import SessionPayment
from komoju_server.services.sessions import Paid

PARAM = "payment_details"
CARD = "credit_card"
AUTHENTICATION_FAILED = "3-D Secure authentication failed"
# Fields the merchant sets through the API, never the customer on this page: a slip's days,
# a redirect's return, a shop's item, the risk data a merchant may send Paidy, the shipping
# address.
MERCHANTS_FIELDS = frozenset(
    {
        "expiry_days",
        "return_url",
        "item_title",
        "item_description",
        "image_url",
        "customer_age",
        "customer_last_order_amount",
        "customer_last_order_at",
        "customer_lifetime_value",
        "customer_order_count",
        # newer types: the shopper's IP, a wallet's pre-authorization, where the goods go
        "customer_ip",
        "scanned_code",
        "user_authorization_id",
        "shipping_address_name",
        "shipping_address_line1",
        "shipping_address_line2",
        "shipping_address_city",
        "shipping_address_state",
        "shipping_address_zip",
        "shipping_address_country",
    }
)
# Fields a family's form leaves out: a card's holder is its `name`.
SPARE: dict[Family, frozenset[str]] = {Family.CARD: frozenset({"given_name", "family_name"})}
# Fields the customer picks from a list rather than types: value -> its message key.
CHOICES: dict[str, tuple[str, ...]] = {"store": KONBINI_STORES, "brand": CARRIERS}
# How a browser should take each kind of field (input type, inputmode, autocomplete).
INPUTS: dict[str, dict[str, str]] = {
    "email": {"type": "email", "autocomplete": "email"},
    "number": {"inputmode": "numeric", "autocomplete": "cc-number"},
    "month": {"inputmode": "numeric", "autocomplete": "cc-exp-month", "placeholder": "MM"},
    "year": {"inputmode": "numeric", "autocomplete": "cc-exp-year", "placeholder": "YYYY"},
    "verification_value": {"type": "password", "inputmode": "numeric", "autocomplete": "cc-csc"},
    "name": {"autocomplete": "cc-name"},
    "given_name": {"autocomplete": "given-name"},
    "family_name": {"autocomplete": "family-name"},
    "phone": {"type": "tel", "autocomplete": "tel"},
    "prepaid_number": {"autocomplete": "off"},
    "birthday": {"inputmode": "numeric", "placeholder": "YYMMDD"},
    "first_two_digits_of_pin": {"type": "password", "inputmode": "numeric", "autocomplete": "off"},
    "cpf": {"inputmode": "numeric"},
    "cpf_or_cnpj": {"inputmode": "numeric"},
}
# Every field a form may show, and `type` (the method), has a label.
LABELED = frozenset({"type"} | {f.name for m in BY_TYPE.values() for f in m.fields if f.name not in MERCHANTS_FIELDS})
# The API's error codes the page explains in the customer's words; others say it failed.
EXPLAINED = frozenset(
    {
        "card_declined",
        "insufficient_funds",
        "exceeds_limit",
        "card_expired",
        "bad_verification_value",
        "other_invalid",
        "invalid_number",
        "used_number",
        "invalid_password",
        "invalid_account",
        "invalid_token",
        "fraudulent",
        "invalid_parameter",
        "missing_parameter",
        "invalid_payment_type",
    }
)


@dataclass
class FormField:
    """One input of a method's form, as the template draws it."""

    name: str  # the API's field name (payment_details[name])
    required: bool
    secret: bool
    value: str = ""
    choices: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    invalid: bool = False

    @property
    def input_name(self) -> str:
        return f"{PARAM}[{self.name}]"

    @property
    def input_id(self) -> str:
        return f"field-{self.name}"


def form_fields(method: Method, typed: Mapping[str, Any], wrong: str | None) -> list[FormField]:
    """The method's fields a customer fills, in the catalogue's order but the email last, with
    what was typed (never a secret) kept."""
    fields = []
    for spec in sorted(method.fields, key=lambda f: f.name == "email"):
        if spec.name in MERCHANTS_FIELDS or spec.name in SPARE.get(method.family, ()):
            continue
        value = typed.get(spec.name)
        fields.append(
            FormField(
                name=spec.name,
                required=spec.required,
                secret=spec.secret,
                value="" if spec.secret or not isinstance(value, str | int) else str(value),
                choices=CHOICES.get(spec.name, ()),
                attributes=INPUTS.get(spec.name, {}),
                invalid=wrong == spec.name,
            )
        )
    return fields


@dataclass
class Outcome:
    """What a pay from the page came to: where to send the customer, or what went wrong."""

    paid: Paid | None = None
    error: ApiError | None = None
    authenticate: str | None = None  # the 3-D Secure page the customer must go through first


Payer = Callable[[Runtime, Caller, Session, SessionPayment, str], Awaitable[Outcome]]


async def _pay(runtime: Runtime, caller: Caller, session: Session, pay: SessionPayment, base: str) -> Outcome:
    try:
        return Outcome(paid=await runtime.sessions.pay(caller, session.id, pay, base))
    except ApiError as error:
        return Outcome(error=error)


async def _pay_card(runtime: Runtime, caller: Caller, session: Session, pay: SessionPayment, base: str) -> Outcome:
    """A card: 3-D Secure first where this server can do it (test mode, a session that pays
    and saves no customer), then the pay with the secure token; otherwise a plain pay."""
    if caller.mode != "test" or session.saves_customer or not session.makes_payment:
        return await _pay(runtime, caller, session, pay, base)
    back = f"{base}/sessions/{session.id}/three_d_secure"
    try:
        token = await runtime.sessions.authenticate(caller, session.id, pay, back, base)
    except ApiError as error:
        return Outcome(error=error)
    if token.status == secure_token.NEEDS_VERIFY:
        return Outcome(authenticate=token.authentication_url)
    return await _pay(runtime, caller, session, SessionPayment(details=token.id), base)


# How each family of methods is paid from the page.
PAYERS: dict[Family, Payer] = {Family.CARD: _pay_card}


class SessionPage:
    access = None  # no API key: the session's id is the page's key
    page = True

    def __init__(self, runtime: Runtime, pages: Pages) -> None:
        self._rt = runtime
        self._pages = pages

    async def _load(self, session_id: str) -> tuple[Caller, Session]:
        found = await self._rt.sessions.find(session_id)
        if found is None:
            raise PageError(404)
        return found

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        caller, session = await self._load(session_id)
        chosen = req.get_param("method")
        await self._show(req, resp, caller, session, chosen if isinstance(chosen, str) else None)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        caller, session = await self._load(session_id)
        posted = await self._pages.form(req)
        typed = posted.get(PARAM)
        typed = typed if isinstance(typed, dict) else {}
        chosen = typed.get("type") if isinstance(typed.get("type"), str) else None
        now = await self._rt.sessions.now(caller)
        if session.status != model.PENDING or session.expired(now):
            self._pages.redirect(resp, self._here(req, session, None))  # it ended meanwhile: say so
            return
        pay = SessionPayment(details=dict(typed))
        method = BY_TYPE.get(chosen or "")
        payer = PAYERS.get(method.family, _pay) if method is not None else _pay
        outcome = await payer(self._rt, caller, session, pay, base_url(self._rt, req))
        if outcome.authenticate is not None:
            self._pages.redirect(resp, self._with_locale(req, outcome.authenticate))
            return
        await self._finish(req, resp, caller, session, outcome, chosen, typed)

    async def on_get_authenticated(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        """Back from the 3-D Secure page: a verified secure token pays the session; a failed one
        (or a stale link) shows the card form again, saying authentication failed."""
        caller, session = await self._load(session_id)
        token_id = req.get_param("secure_token_id")
        if not token_id:
            raise PageError(404)
        pay = SessionPayment(details=token_id)
        outcome = await _pay(self._rt, caller, session, pay, base_url(self._rt, req))
        if outcome.error is not None and outcome.error.code == "invalid_token":
            outcome.error = ApiError("invalid_token", f"{PARAM}[number]", message=AUTHENTICATION_FAILED)
        await self._finish(req, resp, caller, session, outcome, CARD, {})

    async def _finish(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        caller: Caller,
        session: Session,
        outcome: Outcome,
        chosen: str | None,
        typed: Mapping[str, Any],
    ) -> None:
        if outcome.paid is not None:
            self._leave(req, resp, outcome.paid)
            return
        error = outcome.error
        if error is not None and error.code == "unprocessable_entity":  # completed, cancelled or expired meanwhile
            self._pages.redirect(resp, self._here(req, session, None))
            return
        await self._show(req, resp, caller, session, chosen, typed=typed, error=error)

    @staticmethod
    def _with_locale(req: falcon.asgi.Request, url: str) -> str:
        asked = req.get_param("locale")
        return f"{url}?locale={asked}" if asked in ("ja", "en", "ko") else url

    def _leave(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, paid: Paid) -> None:
        if paid.redirect_url is not None:
            self._pages.redirect(resp, paid.redirect_url)
        else:  # no return_url: the page itself says it is done
            self._pages.redirect(resp, self._here(req, paid.session, None))

    def _explain(self, error: ApiError | None, locale: str) -> str | None:
        """An error in the customer's words, naming the field it is about."""
        if error is None:
            return None
        t = self._pages.messages.translator(locale)
        if error.message == AUTHENTICATION_FAILED:
            return t("session.error_three_d_secure")
        code = error.code if error.code in EXPLAINED else "failed"
        name = _field_of(error)
        label = t(f"session.field_{name}") if name in LABELED else t("session.field_details")
        return t(f"session.error_{code}", field=label)

    def _here(self, req: falcon.asgi.Request, session: Session, method: str | None) -> str:
        query = []
        asked = req.get_param("locale")
        if asked in ("ja", "en", "ko"):
            query.append(f"locale={asked}")
        if method is not None:
            query.append(f"method={method}")
        return f"/sessions/{session.id}" + ("?" + "&".join(query) if query else "")

    async def _show(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        caller: Caller,
        session: Session,
        chosen: str | None,
        typed: Mapping[str, Any] | None = None,
        error: ApiError | None = None,
    ) -> None:
        locale = self._pages.locale(req, session.default_locale)
        now = await self._rt.sessions.now(caller)
        state = "expired" if session.expired(now) else session.status
        if chosen not in session.payment_types:
            chosen = session.payment_types[0] if session.payment_types else None
        method = BY_TYPE[chosen] if chosen is not None else None
        wrong = _field_of(error)
        values = dict(typed or {})
        if not typed and session.email is not None:
            values["email"] = session.email
        self._pages.render(
            req,
            resp,
            "session.html",
            locale,
            status=422 if error is not None else 200,
            test_mode=caller.mode == "test",
            session=session,
            state=state,
            methods=[(t, method_name(t, locale)) for t in session.payment_types],
            chosen=chosen,
            chosen_name=method_name(chosen, locale) if chosen else "",
            fields=form_fields(method, values, wrong) if method is not None else [],
            error=self._explain(error, locale),
            back_url=model.with_session_id(session.return_url, session.id) if session.return_url else None,
            here=self._here(req, session, None),
            method_url=lambda t: self._here(req, session, t),
            locale_query=f"?locale={req.get_param('locale')}" if req.get_param("locale") in ("ja", "en", "ko") else "",
        )


class SessionCancel:
    access = None
    page = True

    def __init__(self, runtime: Runtime, pages: Pages) -> None:
        self._rt = runtime
        self._pages = pages

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        found = await self._rt.sessions.find(session_id)
        if found is None:
            raise PageError(404)
        caller, session = found
        await self._pages.form(req)
        try:
            await self._rt.sessions.cancel(caller, session.id, base_url(self._rt, req))
        except ApiError as error:
            if error.code != "not_cancellable":  # paid meanwhile: the page says so
                raise
        if session.return_url is not None:
            self._pages.redirect(resp, model.with_session_id(session.return_url, session.id))
            return
        locale = req.get_param("locale")
        query = f"?locale={locale}" if locale in ("ja", "en", "ko") else ""
        self._pages.redirect(resp, f"/sessions/{session.id}{query}")


def _field_of(error: ApiError | None) -> str | None:
    """The form field an error names (`payment_details[number]` -> `number`)."""
    if error is None or error.param is None or not error.param.startswith(f"{PARAM}["):
        return None
    return error.param[len(PARAM) + 1 : -1] or None


def add_routes(app: falcon.asgi.App, runtime: Runtime, pages: Pages) -> None:
    page = SessionPage(runtime, pages)
    app.add_route("/sessions/{session_id}", page)
    app.add_route("/sessions/{session_id}/cancel", SessionCancel(runtime, pages))
    app.add_route("/sessions/{session_id}/three_d_secure", page, suffix="authenticated")
