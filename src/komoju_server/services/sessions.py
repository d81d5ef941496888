"""Session use cases: create, show, pay, cancel, and the expiry the scheduler marks.

Paying a session makes its payment through the payments service (a typed `NewPayment`, with
`session` set) and completes the session in the payment's own unit of work, conditional on
the session's version: of two requests paying one session, only one commits, and the other
reads the session again and finds it completed. Within one process, pays of one session also
take turns on a lock, so the loser never reaches the processor. A payment the processor
declines writes nothing: the session stays pending for the customer to try again.

In the customer modes the details are saved as a customer (the customers service builds its
writes) in the same unit: a new customer, or the one the session names (`customer_id`).

A session expires at `expires_at` on the merchant's clock: every read checks that moment
against the clock (so a sandbox clock advance expires it at once), and the scheduler's timer
marks it expired in the table then too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from komoju_server.domain import ids, params
from komoju_server.domain import session as model
from komoju_server.domain.caller import Caller, Mode
from komoju_server.domain.clock import TimeRange
from komoju_server.domain.customer import Customer
from komoju_server.domain.errors import ApiError, invalid
from komoju_server.domain.payment import Payment
from komoju_server.domain.secure_token import SecureToken
from komoju_server.domain.session import Session
from komoju_server.methods import BY_TYPE, clean_details, method_of
from komoju_server.services import answers
from komoju_server.services.changes import change
from komoju_server.services.clock import Clock
from komoju_server.services.customers import Customers
from komoju_server.services.inputs import InlineDetails, NewPayment, NewSecureToken
from komoju_server.services.locks import KeyedLocks
from komoju_server.services.payments import OTHER_PAYMENT, Along, Payments, Resolved
from komoju_server.services.scheduler import Scheduler
from komoju_server.services.secure_tokens import SecureTokens
from komoju_server.services.session_inputs import Address, LineItem, NewSession, PaymentData, SessionPayment
from komoju_server.store import Conflict, Store, Write
from komoju_server.store import merchants as merchants_table
from komoju_server.store import sessions as table
from komoju_server.store.tokens import USE_LABEL as USE_TOKEN

EXPIRY_TIMER = "session.expire"
PARAM = "payment_details"
RETRY_ON = (table.UPDATE_LABEL,)
MAX_NAMES = 10_000  # merchants' names kept; more, and all are forgotten


@dataclass
class Paid:
    """What paying a session answers: where the customer goes next, the session's status, and
    what was made (the payment, the customer)."""

    session: Session
    payment: dict[str, Any] | None
    customer: Customer | None
    redirect_url: str | None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"redirect_url": self.redirect_url, "status": self.session.status}
        if self.session.makes_payment:
            body["payment"] = self.payment
        if self.customer is not None:
            body["customer"] = self.customer.to_api()
        return body


class Sessions:
    def __init__(
        self,
        store: Store,
        clock_: Clock,
        payments: Payments,
        customers: Customers,
        secure_tokens: SecureTokens,
        scheduler: Scheduler,
    ) -> None:
        self._store = store
        self._clock = clock_
        self._payments = payments
        self._customers = customers
        self._secure_tokens = secure_tokens
        self._scheduler = scheduler
        self._locks = KeyedLocks()
        self._names: dict[str, str] = {}  # merchant id -> name, which never changes once made

    # -- reading ------------------------------------------------------------------------------

    async def get(self, caller: Caller, session_id: str) -> Session:
        found = await table.get(self._store, caller.scope, session_id)
        if found is None:
            raise ApiError("not_found")
        return found

    async def find(self, session_id: str) -> tuple[Caller, Session] | None:
        """A session by its id alone, with whose it is (the hosted page's only key is the id)."""
        if not params.object_id(session_id):
            return None
        found = await table.find(self._store, session_id)
        if found is None:
            return None
        return Caller(found.merchant_id, _mode(found.mode), "publishable"), found

    async def now(self, caller: Caller) -> int:
        return await self._clock.now(caller)

    async def _merchant_name(self, caller: Caller) -> str | None:
        """The shop's name: read once, since nothing renames a merchant (in any process)."""
        name = self._names.get(caller.merchant_id)
        if name is None:
            name = await merchants_table.name(self._store, caller.merchant_id)
            if name is not None:
                if len(self._names) >= MAX_NAMES:
                    self._names.clear()
                self._names[caller.merchant_id] = name
        return name

    async def payment_of(self, caller: Caller, session: Session) -> dict[str, Any] | None:
        """The session's payment as it is now, if it has one."""
        if session.payment_id is None:
            return None
        try:
            return (await self._payments.get(caller, session.payment_id)).to_api(caller.api_version)
        except ApiError:  # erased by a sandbox reset meanwhile
            return None

    async def page(self, caller: Caller, created: TimeRange, number: int, per_page: int) -> tuple[int, list[Session]]:
        return await table.page(self._store, caller.scope, created, number, per_page)

    async def show(self, caller: Caller, session_id: str, base_url: str) -> dict[str, Any]:
        session = await self.get(caller, session_id)
        payment = await self.payment_of(caller, session)
        return session.to_api(base_url, await self._clock.now(caller), payment, await self._merchant_name(caller))

    # -- creating -----------------------------------------------------------------------------

    async def create(self, caller: Caller, new: NewSession, base_url: str) -> dict[str, Any]:
        now = await self._clock.now(caller)
        offered = model.available(new.currency, new.amount, new.mode)
        if new.payment_types is None:
            if not offered:  # no method of the catalogue takes this amount in this currency
                raise invalid("amount")
            types = [t for t in offered if BY_TYPE[t].offered_by_default]
        else:
            for wanted in new.payment_types:
                if wanted not in offered:
                    raise ApiError("invalid_payment_type", "payment_types", provided=wanted, allowed=", ".join(offered))
            types = list(new.payment_types)
        if new.customer_id is not None:
            try:
                await self._customers.get(caller, new.customer_id)
            except ApiError as error:
                raise invalid("customer_id") from error
        lifetime = new.expires_in_seconds or model.DEFAULT_LIFETIME
        session = Session(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            session_mode=new.mode,
            amount=new.amount,
            currency=new.currency,
            created_at=now,
            expires_at=now + lifetime,
            payment_types=types,
            default_locale=new.default_locale,
            return_url=new.return_url,
            email=new.email,
            external_customer_id=new.external_customer_id,
            metadata=dict(new.metadata),
            payment_data=_payment_data(new.payment_data) if new.mode in model.PAYMENT_MODES else {},
            line_items=[_line_item(item) for item in new.line_items] if new.line_items is not None else None,
            customer_id=new.customer_id,
        )
        body = session.to_api(base_url, now, merchant_name=await self._merchant_name(caller))
        unit = [
            table.insert(session),
            self._scheduler.timer(EXPIRY_TIMER, session.id, caller, session.expires_at),
            *answers.writes_for(200, body),
        ]
        await self._store.run(unit)
        self._scheduler.wake()
        return body

    # -- paying -------------------------------------------------------------------------------

    async def pay(self, caller: Caller, session_id: str, pay: SessionPayment, base_url: str) -> Paid:
        """Pays the session with the customer's details: a payment (payment modes), a customer
        (customer modes), or both; the session completes with them, or not at all."""

        async def attempt() -> Paid:
            session = await self.get(caller, session_id)
            seen = session.version
            now = await self._clock.now(caller)
            session.check_payable(now)
            resolved = await self._details(caller, session, pay, now)
            customer, customer_writes = await self._customer(caller, session, resolved, pay, now)
            if not session.makes_payment:
                session.complete(now, None, customer.id if customer else None)
                paid = Paid(session, None, customer, model.next_url(session, None))
                unit = [*self._completed(session, seen), *customer_writes, *resolved.writes]
                await self._run([*unit, *answers.writes_for(200, paid.to_api())])
                return paid
            made: list[Paid] = []

            def writes(payment: Payment) -> list[Write]:
                answer = payment.to_api(caller.api_version)
                session.complete(payment.created_at, payment.id, customer.id if customer else None)
                paid = Paid(session, answer, customer, model.next_url(session, answer))
                made.append(paid)
                unit = [*self._completed(session, seen), *customer_writes, *resolved.writes]
                return [*unit, *answers.writes_for(200, paid.to_api())]

            new = self._payment(session, resolved, pay, customer)
            try:
                await self._payments.create(caller, new, base_url, Along(writes))
            except Conflict as conflict:
                if conflict.write.label == USE_TOKEN:  # the token was used by a concurrent request
                    raise ApiError("invalid_token", PARAM) from conflict
                raise
            return made[-1]

        return await change(self._locks, session_id, attempt, RETRY_ON)

    async def authenticate(
        self, caller: Caller, session_id: str, pay: SessionPayment, return_url: str, base_url: str
    ) -> SecureToken:
        """3-D Secure before a card pays the session (the hosted page does it, as KOMOJU's does):
        a secure token for the session's amount with the customer's card typed on the page. Once
        verified, the token pays the session (`pay` with its id) and nothing else."""
        if isinstance(pay.details, str):  # a token's card was checked where the token was made
            raise invalid(PARAM)
        session = await self.get(caller, session_id)
        now = await self._clock.now(caller)
        session.check_payable(now)
        resolved = await self._details(caller, session, pay, now)
        card = InlineDetails(resolved.method, resolved.details)
        new = NewSecureToken(amount=session.amount, currency=session.currency, return_url=return_url, source=card)
        return await self._secure_tokens.create(caller, new, base_url)

    async def _details(self, caller: Caller, session: Session, pay: SessionPayment, now: int) -> Resolved:
        """The customer's details, checked against the session's methods; an email the
        method asks for may come from the pay request or the session."""
        raw = pay.details
        if isinstance(raw, str):  # a token, or a secure token (3-D Secure) verified for this payment
            resolved = await self._payments.sources.from_token(caller, raw, PARAM, now)
            session.check_method(resolved.method, PARAM)
            if resolved.bound_to is not None and resolved.bound_to != (session.amount, session.currency):
                raise ApiError("invalid_token", PARAM, message=OTHER_PAYMENT)
            return resolved
        method = method_of(raw)
        session.check_method(method, f"{PARAM}[type]")
        email = pay.customer_email or session.email
        if "email" in method.by_name and not params.present(raw.get("email")) and email is not None:
            raw = {**raw, "email": email}
        return Resolved(method, clean_details(method, raw), [])

    async def _customer(
        self, caller: Caller, session: Session, resolved: Resolved, pay: SessionPayment, now: int
    ) -> tuple[Customer | None, list[Write]]:
        """The customer the details are saved as (customer modes), with its writes."""
        if not session.saves_customer:
            return None, []
        email = pay.customer_email or session.email or resolved.details.get("email")
        if session.customer_id is not None:
            try:
                return await self._customers.saved_on(caller, session.customer_id, resolved, now, email)
            except ApiError as error:
                if error.code == "not_found":  # deleted since the session was made
                    raise invalid("customer_id") from error
                raise
        return self._customers.new(caller, resolved, now, email=email)

    @staticmethod
    def _payment(session: Session, resolved: Resolved, pay: SessionPayment, customer: Customer | None) -> NewPayment:
        """The payment a session makes: its amount (no tax on top: the customer pays what the
        session says), its payment_data, the customer's details."""
        data = session.payment_data
        capture = pay.capture or data.get("capture") or "auto"
        return NewPayment(
            amount=session.amount,
            currency=session.currency,
            tax=0,
            source=InlineDetails(resolved.method, resolved.details),
            external_order_num=data.get("external_order_num"),
            metadata=dict(session.metadata),
            locale=session.default_locale,
            return_url=model.with_session_id(session.return_url, session.id) if session.return_url else None,
            fraud_details=pay.fraud_details,
            capture=capture != "manual",
            scenario=pay.scenario or resolved.scenario,
            session=session.id,
            customer=customer.id if customer is not None else None,
        )

    def _completed(self, session: Session, seen: int) -> list[Write]:
        return [table.update(session, seen), self._scheduler.cancel(EXPIRY_TIMER, session.id)]

    async def _run(self, unit: list[Write]) -> None:
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write.label == USE_TOKEN:
                raise ApiError("invalid_token", PARAM) from conflict
            raise

    # -- cancelling and expiring --------------------------------------------------------------

    async def cancel(self, caller: Caller, session_id: str, base_url: str) -> dict[str, Any]:
        """Cancels a pending session (expired or not); a cancelled one is answered as it is, a
        completed one cannot be cancelled."""

        async def attempt() -> dict[str, Any]:
            session = await self.get(caller, session_id)
            seen = session.version
            now = await self._clock.now(caller)
            changed = session.cancel(now)
            payment = await self.payment_of(caller, session)
            body = session.to_api(base_url, now, payment, await self._merchant_name(caller))
            if changed:
                await self._store.run([*self._completed(session, seen), *answers.writes_for(200, body)])
            return body

        return await change(self._locks, session_id, attempt, RETRY_ON)

    async def expire_due(self, caller: Caller, session_id: str, at: int) -> int | None:
        """The scheduler's handler: marks a session still pending at its `expires_at` expired."""

        async def attempt() -> int | None:
            session = await table.get(self._store, caller.scope, session_id)
            if session is None or session.status != model.PENDING or session.expired_at is not None:
                return None
            if at < session.expires_at:
                return session.expires_at  # not due yet (the timer was early)
            seen = session.version
            session.expired_at = at
            await self._store.run([table.update(session, seen)])
            return None

        return await change(self._locks, session_id, attempt, RETRY_ON)


def _mode(value: str) -> Mode:
    return "live" if value == "live" else "test"


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "name": address.name,
        "street_address1": address.street_address1,
        "street_address2": address.street_address2,
        "city": address.city,
        "state": address.state,
        "zipcode": address.zipcode,
        "country": address.country,
    }


def _payment_data(data: PaymentData) -> dict[str, Any]:
    """payment_data as a session answers it; the addresses only when they were given."""
    shown: dict[str, Any] = {
        "external_order_num": data.external_order_num,
        "name": data.name,
        "name_kana": data.name_kana,
        "capture": data.capture,
    }
    if data.billing_address is not None:
        shown["billing_address"] = _address(data.billing_address)
    if data.shipping_address is not None:
        shown["shipping_address"] = _address(data.shipping_address)
    return shown


def _line_item(item: LineItem) -> dict[str, Any]:
    return {
        "amount": item.amount,
        "description": item.description,
        "quantity": item.quantity,
        "image": item.image,
        "external_product_num": item.external_product_num,
    }
