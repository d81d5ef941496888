"""Payment use cases: create, show, list, update, capture, refund, refund request, cancel.

Each use case reads what it needs, decides with the domain's rules, asks the processor, and
then writes the payment and its events in one unit of work. Changes to an existing payment
are conditional on the version that was read; when another request won the race, the use
case starts over from a fresh read, so two refunds can never take more than the total.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from komoju_server.domain import clock, ids, money, params, rules, states
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.payment import Payment
from komoju_server.methods import Family, Method, clean_details, method_of, split_secrets
from komoju_server.processors import Charge, Outcome, Processor, Processors
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.services.locks import BUSY_MESSAGE, KeyedLocks
from komoju_server.store import Conflict, Store, Write, listing, timers
from komoju_server.store import payments as table
from komoju_server.store.listing import Condition
from komoju_server.store.tokens import USE_LABEL as USE_TOKEN

MAX_ATTEMPTS = 8
LIVE_REFUSAL = "Live payments are not enabled on this server: no live processor is configured."
EVENT_FOR_STATUS = {"authorized": "payment.authorized", "captured": "payment.captured"}
DEADLINE_TIMER = "payment.deadline"  # the scheduler's timer that expires an unpaid payment
COMPLETABLE = (Family.DELAYED, Family.REDIRECT)  # finished by the customer away from the API
NOT_COMPLETABLE = (
    "Only konbini, bank transfer, Pay-easy and redirect payments are completed by the customer; "
    "capture a card payment with POST /payments/:id/capture, continue a prepaid one with PATCH /payments/:id."
)

# The bank details a refund request must carry, and their rules.
REFUND_REQUEST_FIELDS: tuple[tuple[str, rules.Rule], ...] = (
    ("customer_name", rules.half_width_kana),
    ("bank_name", rules.text(64)),
    ("bank_code", rules.digits(4, 4)),
    ("branch_name", rules.text(64)),
    ("branch_number", rules.digits(3, 3)),
    ("account_type", rules.one_of("ordinary", "checking", "savings")),
    ("account_number", rules.digits(1, 8)),
)


@dataclass
class Resolved:
    """Payment details ready to charge, with the writes that must commit with the payment
    (marking a token used) and the customer it came from."""

    method: Method
    details: dict[str, Any]
    writes: list[Write]
    customer: str | None = None
    scenario: str | None = None


class DetailsSource(Protocol):
    """Where payment details come from when they are not given inline (tokens, customers)."""

    async def from_token(self, caller: Caller, token_id: str, param: str, now: int) -> Resolved: ...

    async def from_customer(self, caller: Caller, customer_id: str, now: int) -> Resolved: ...


@dataclass(frozen=True)
class Recurring:
    """A charge a subscription makes on its own: dated `at` on the merchant's clock, tagged
    with the subscription, and committed in one unit with the subscription's own writes."""

    subscription: str
    at: int
    writes: Callable[[Payment], list[Write]]


class _Unchanged(Exception):
    def __init__(self, payment: Payment) -> None:
        self.payment = payment


@dataclass
class Created:
    payment: Payment
    status_code: int
    answer: dict[str, Any] | None = None  # the payment as answered, when already built


class Payments:
    def __init__(self, store: Store, processors: Processors, clock_: Clock, events: Events) -> None:
        self._store = store
        self._processors = processors
        self._clock = clock_
        self._events = events
        self.sources: DetailsSource | None = None
        self._locks = KeyedLocks()

    # -- reading ----------------------------------------------------------------------------

    async def get(self, caller: Caller, payment_id: str) -> Payment:
        payment = await table.get(self._store, caller.scope, payment_id)
        if payment is None:
            raise ApiError("not_found")
        return payment

    async def page(
        self, caller: Caller, query: dict[str, Any], number: int, per_page: int
    ) -> tuple[int, list[Payment]]:
        return await table.page(self._store, caller.scope, list_conditions(query), number, per_page)

    # -- creating ---------------------------------------------------------------------------

    async def create(
        self,
        caller: Caller,
        body: dict[str, Any],
        base_url: str,
        scenario: str | None,
        recurring: Recurring | None = None,
    ) -> Created:
        now = recurring.at if recurring is not None else await self._clock.now(caller)
        amount_value = body.get("amount")
        if not params.present(amount_value):
            raise missing("amount")
        amount = money.amount(amount_value)
        currency = money.currency(body.get("currency"))
        resolved = await self._resolve(caller, body, now)
        method, details = resolved.method, resolved.details
        if currency not in method.limits:
            raise ApiError("invalid_currency", "currency")
        tax = money.tax(body.get("tax"), amount)
        least, most = method.limits[currency]
        if not least <= amount + tax <= most:
            raise invalid("amount")
        payment = Payment(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            method_type=method.type,
            status="pending",
            amount=amount,
            tax=tax,
            currency=currency,
            created_at=now,
            details={},
            customer=resolved.customer,
            description=params.text(body.get("description"), "description"),
            external_order_num=params.text(body.get("external_order_num"), "external_order_num"),
            metadata=params.metadata(body.get("metadata")),
            locale=params.locale(body.get("locale")),
            return_url=params.url(body.get("return_url"), "return_url"),
            cancel_url=params.url(body.get("cancel_url"), "cancel_url"),
            fraud_details=params.fraud_details(body.get("fraud_details")),
            capture=params.boolean(body.get("capture"), "capture", True),
            webhooks=_webhook_urls(body.get("webhooks")),
            subscription=recurring.subscription if recurring is not None else None,
        )
        processor = self._processor(caller)
        outcome = await processor.charge(
            Charge(
                payment.id,
                method,
                details,
                payment.total,
                currency,
                payment.capture,
                now,
                base_url,
                payment.locale,
                scenario or resolved.scenario,
            )
        )
        payment.status = outcome.status
        payment.details = public_details(method, details, outcome)
        payment.payment_deadline = deadline(method, details, now)
        if payment.status == "captured":
            payment.captured_at = now
        unit = [*table.insert(payment), *resolved.writes]
        if payment.payment_deadline is not None and states.allowed("expire", payment.status):
            # Unpaid past its deadline, it expires: the scheduler's reminder, one second after.
            unit.append(timers.set_(DEADLINE_TIMER, payment.id, *caller.scope, payment.payment_deadline + 1))
        answer = payment.to_api()  # the event's data and the response are the same object
        if payment.status in EVENT_FOR_STATUS:
            unit += self._events.record(caller, EVENT_FOR_STATUS[payment.status], answer, now, payment.webhooks)
        if recurring is not None:
            unit += recurring.writes(payment)
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write in resolved.writes:  # the token was used by a concurrent request
                raise ApiError("invalid_token", "payment_details") from conflict
            raise
        return Created(payment, 202 if payment.status == "pending" else 200, answer)

    async def _resolve(self, caller: Caller, body: dict[str, Any], now: int) -> Resolved:
        details = body.get("payment_details")
        customer = body.get("customer")
        if params.present(details) and params.present(customer):
            raise ApiError("invalid_parameter", "customer", message="Give either payment_details or customer, not both")
        if params.present(customer):
            if not isinstance(customer, str) or self.sources is None:
                raise invalid("customer")
            return await self.sources.from_customer(caller, customer, now)
        if not params.present(details):
            raise missing("payment_details")
        if isinstance(details, str):
            if self.sources is None:
                raise ApiError("invalid_token", "payment_details")
            return await self.sources.from_token(caller, details, "payment_details", now)
        method = method_of(details)
        return Resolved(method, clean_details(method, details), [])

    def _processor(self, caller: Caller) -> Processor:
        processor = self._processors.for_mode(caller.mode)
        if processor is None:
            raise ApiError("forbidden", message=LIVE_REFUSAL)
        return processor

    # -- changing ---------------------------------------------------------------------------

    async def _change(
        self,
        caller: Caller,
        payment_id: str,
        decide: Callable[[Payment, int], Awaitable[list[Write]]],
        at: int | None = None,
    ) -> Payment:
        """Read, decide, write if unchanged; start over when another request got there first.

        `decide` changes the payment in place and returns the writes to go with it. `at` dates
        the change (the scheduler acts as of a deadline); otherwise it is the merchant's now.
        """
        async with self._locks.hold(payment_id):
            for _ in range(MAX_ATTEMPTS):
                payment = await self.get(caller, payment_id)
                seen = payment.version
                now = at if at is not None else await self._clock.now(caller)
                extra = await decide(payment, now)
                try:
                    await self._store.run([table.update(payment, seen), *extra])
                except Conflict as conflict:
                    if conflict.write.label == "update payment":
                        continue
                    if conflict.write.label == USE_TOKEN:  # a prepaid top-up's token, used concurrently
                        raise ApiError("invalid_token", "payment_details") from conflict
                    raise
                return payment
        raise ApiError("conflict", message=BUSY_MESSAGE)

    def _event(self, caller: Caller, event_type: str, payment: Payment, now: int) -> list[Write]:
        return self._events.record(caller, event_type, payment.to_api(), now, payment.webhooks)

    async def update(self, caller: Caller, payment_id: str, body: dict[str, Any], scenario: str | None) -> Created:
        async def decide(payment: Payment, now: int) -> list[Write]:
            if "description" in body:
                payment.description = params.text(body.get("description"), "description")
            if "metadata" in body:
                payment.metadata = params.metadata(body.get("metadata"))
            if not params.present(body.get("payment_details")):
                return self._event(caller, "payment.updated", payment, now)
            return await self._top_up(caller, payment, body["payment_details"], scenario, now)

        payment = await self._change(caller, payment_id, decide)
        return Created(payment, 202 if payment.status == "pending" else 200)

    async def _top_up(self, caller: Caller, payment: Payment, raw: Any, scenario: str | None, now: int) -> list[Write]:
        """Another prepaid card for a payment that was short."""
        method = method_of({"type": payment.method_type})
        if payment.status != "pending" or not method.continuable or _past_deadline(payment, now):
            raise invalid("payment_details")
        writes: list[Write] = []
        if isinstance(raw, str):
            if self.sources is None:
                raise ApiError("invalid_token", "payment_details")
            resolved = await self.sources.from_token(caller, raw, "payment_details", now)
            details, writes = resolved.details, resolved.writes
            if resolved.method.type != method.type:
                raise invalid("payment_details[type]")
        else:
            if isinstance(raw, dict) and not raw.get("type"):
                raw = {**raw, "type": method.type}
            if method_of(raw).type != method.type:
                raise invalid("payment_details[type]")
            details = clean_details(method, raw)
        outcome = await self._processor(caller).top_up(payment, details, scenario)
        payment.details = {**payment.details, **{k: v for k, v in outcome.details.items() if k in method.shows}}
        payment.status = states.apply("capture", payment.status) if outcome.status == "captured" else payment.status
        if payment.status == "captured":
            payment.captured_at = now
            return writes + self._event(caller, "payment.captured", payment, now)
        return writes + self._event(caller, "payment.updated", payment, now)

    async def capture(self, caller: Caller, payment_id: str) -> Payment:
        async def decide(payment: Payment, now: int) -> list[Write]:
            card = method_of({"type": payment.method_type}).family is Family.CARD
            # Past its deadline an authorization has lapsed, even before the scheduler marks it.
            if not card or payment.status != "authorized" or _past_deadline(payment, now):
                raise ApiError("not_capturable")
            await self._processor(caller).capture(payment)
            payment.status = states.apply("capture", payment.status)
            payment.captured_at = now
            return self._event(caller, "payment.captured", payment, now)

        return await self._change(caller, payment_id, decide)

    async def cancel(self, caller: Caller, payment_id: str) -> Payment:
        async def decide(payment: Payment, now: int) -> list[Write]:
            payment.status = states.apply("cancel", payment.status)
            await self._processor(caller).cancel(payment)
            return self._event(caller, "payment.cancelled", payment, now)

        return await self._change(caller, payment_id, decide)

    async def expire(self, caller: Caller, payment_id: str, at: int) -> Payment:
        """The deadline passed unpaid: an open payment whose payment_deadline is before `at`
        expires as of `at`. Any other payment (paid, cancelled, not yet due) is returned as it is."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            if not states.allowed("expire", payment.status) or not _past_deadline(payment, now):
                raise _Unchanged(payment)
            payment.status = states.apply("expire", payment.status)
            return self._event(caller, "payment.expired", payment, now)

        try:
            return await self._change(caller, payment_id, decide, at=at)
        except _Unchanged as unchanged:
            return unchanged.payment

    async def complete(self, caller: Caller, payment_id: str) -> Payment:
        """The customer finished paying away from the API (paid at the konbini, the transfer
        arrived, the redirect was approved): the processor reports it and the payment is captured."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            if method_of({"type": payment.method_type}).family not in COMPLETABLE:
                raise ApiError("not_capturable", message=NOT_COMPLETABLE)
            if payment.status != "authorized" or _past_deadline(payment, now):
                raise ApiError("not_capturable")
            payment.status = states.apply("capture", payment.status)
            payment.captured_at = now
            return self._event(caller, "payment.captured", payment, now)

        return await self._change(caller, payment_id, decide)

    async def fail(self, caller: Caller, payment_id: str) -> Payment:
        """The customer gave up, or the processor refused, before the payment was done."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            payment.status = states.apply("fail", payment.status)
            return self._event(caller, "payment.failed", payment, now)

        return await self._change(caller, payment_id, decide)

    async def refund(self, caller: Caller, payment_id: str, body: dict[str, Any]) -> Payment:
        async def decide(payment: Payment, now: int) -> list[Write]:
            method = method_of({"type": payment.method_type})
            if not method.refundable or payment.status != "captured":
                raise ApiError("not_refundable")
            amount = _refund_amount(body.get("amount"), payment)
            description = params.text(body.get("description"), "description")  # checked before money moves
            await self._processor(caller).refund(payment, amount)
            payment.refunds = [
                *payment.refunds,
                {
                    "id": ids.new_id(),
                    "resource": "refund",
                    "amount": amount,
                    "currency": payment.currency,
                    "payment": payment.id,
                    "description": description,
                    "created_at": clock.iso(now),
                    "chargeback": False,
                },
            ]
            payment.amount_refunded += amount
            full = payment.amount_refunded == payment.total
            payment.status = states.apply("refund" if full else "refund_partially", payment.status)
            writes = self._event(caller, "payment.refund.created", payment, now)
            if full:
                writes += self._event(caller, "payment.refunded", payment, now)
            return writes

        return await self._change(caller, payment_id, decide)

    async def refund_request(self, caller: Caller, payment_id: str, body: dict[str, Any]) -> Payment:
        """A manual refund by bank transfer, for methods that cannot be refunded directly."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            method = method_of({"type": payment.method_type})
            if method.refundable or payment.status != "captured":
                raise ApiError("not_refundable")
            pending = sum(r["amount"] for r in payment.refund_requests if r["status"] == "pending")
            amount = _refund_amount(body.get("amount"), payment, already=pending)
            request: dict[str, Any] = {
                "id": ids.new_id(),
                "resource": "refund_request",
                "payment": payment.id,
                "amount": amount,
                "currency": payment.currency,
                "status": "pending",
            }
            for name, rule in REFUND_REQUEST_FIELDS:
                value = body.get(name)
                if not params.present(value):
                    raise missing(name)
                request[name] = rule(value, name)
            request["description"] = params.text(body.get("description"), "description")
            request["created_at"] = clock.iso(now)
            payment.refund_requests = [*payment.refund_requests, request]
            return self._event(caller, "payment.updated", payment, now)

        return await self._change(caller, payment_id, decide)


def _past_deadline(payment: Payment, now: int) -> bool:
    return payment.payment_deadline is not None and now > payment.payment_deadline


def _refund_amount(value: Any, payment: Payment, already: int = 0) -> int:
    left = payment.refundable_amount - already
    amount = left if not params.present(value) else money.amount(value)
    if amount <= 0 or amount > left:
        raise ApiError("not_refundable", "amount")
    return amount


def public_details(method: Method, details: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """The payment_details a payment answers with: exactly the method's public fields."""
    safe, _ = split_secrets(method, details)
    merged = {**safe, **outcome.details}
    merged.setdefault("provider", safe.get("brand"))
    return {name: merged.get(name) for name in method.shows}


def deadline(method: Method, details: dict[str, Any], now: int) -> int | None:
    if method.deadline is None:
        return None
    days = details.get(method.expiry_field, method.deadline.days) if method.expiry_field else method.deadline.days
    if method.deadline.end_of_day:
        return clock.end_of_jst_day(now, days)
    return now + days * 86_400


def list_conditions(query: dict[str, Any]) -> list[Condition]:
    conditions: list[Condition] = []
    status = query.get("status")
    if params.present(status):
        if status not in states.STATUSES:
            raise invalid("status")
        conditions.append(("status = ?", (status,)))
    currency = query.get("currency")
    if params.present(currency):
        conditions.append(("currency = ?", (money.currency(currency),)))
    order = params.text(query.get("external_order_num"), "external_order_num")
    if order is not None:
        conditions.append(("external_order_num = ?", (order,)))
    return conditions + listing.time_range(query)


def _webhook_urls(value: Any) -> list[str]:
    if not params.present(value):
        return []
    items = value if isinstance(value, list) else [value]
    return [rules.url(item, "webhooks") for item in items]
