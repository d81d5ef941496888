"""Payment use cases: create, show, list, update, capture, refund, refund request, cancel.

Each use case reads what it needs, decides with the domain's rules, and writes the payment and
its events in one unit of work. Changes to an existing payment are conditional on the version
that was read; when another request won the race, the use case starts over from a fresh read.

A processor is called once per intent (see `processors/base.py`): capture, refund, cancel and
a prepaid top-up are *claimed* first (an intent row under a fresh idempotency key, written in
the same unit as a version bump of the payment, so of two racing requests only one claims),
then the processor is called with that key, then the outcome is *recorded* (the payment, its
events, and the intent settled, conditional on it being still pending). Retries re-read and
re-plan; they never call again. A pending intent reserves its amount, so two refunds can never
take more than the total, at the processor as in the database. An intent left pending (the
process died, the answer was lost) is settled by `recover`, which asks again with the same key.
A new payment through a remote processor is claimed the same way; through the sandbox (local,
stateless) it is one unit, since calling it twice does no harm, and that is the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any, Literal, Protocol, TypeVar, cast

import orjson

from komoju_server.domain import clock, ids, money, params, states, versions
from komoju_server.domain.caller import Caller, Mode
from komoju_server.domain.errors import ApiError, invalid, not_one_of, over_limit
from komoju_server.domain.payment import Payment, PaymentFilter
from komoju_server.methods import Family, Method, clean_details, method_of
from komoju_server.processors import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    Processor,
    Processors,
    RefundRequest,
    RefundResult,
    TopUpRequest,
    Unanswered,
)
from komoju_server.services import answers, inputs
from komoju_server.services.changes import change
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.services.locks import KeyedLocks
from komoju_server.store import Conflict, Store, Write, intents, timers
from komoju_server.store import payments as table
from komoju_server.store.intents import Intent
from komoju_server.store.merchants import CLOCK_MOVED
from komoju_server.store.tokens import USE_LABEL as USE_TOKEN
from komoju_server.store.vault import LazyVault, Vault

log = logging.getLogger("komoju_server")

UPDATE_PAYMENT = "update payment"  # the conditional write that loses a race
OTHER_PAYMENT = "The secure token was verified for another amount or currency"
LIVE_REFUSAL = "Live payments are not enabled on this server: no live processor is configured."
# How a refund request ends, done by hand away from the API (here: the sandbox controls).
RefundRequestOutcome = Literal["completed", "rejected"]
REQUEST_SETTLED = "This refund request is {status} already: only a pending one can be completed or rejected."
EVENT_FOR_STATUS = {"authorized": "payment.authorized", "captured": "payment.captured"}
DEADLINE_TIMER = "payment.deadline"  # the scheduler's timer that expires an unpaid payment
COMPLETABLE = (Family.DELAYED, Family.REDIRECT)  # finished by the customer away from the API
NOT_COMPLETABLE = (
    "Only konbini, bank transfer, Pay-easy and redirect payments are completed by the customer; "
    "capture a card payment with POST /payments/:id/capture, continue a prepaid one with PATCH /payments/:id."
)
INTENT_LEASE = 60  # seconds a claimed intent is its caller's, before recovery may ask again
SEALED_TABLE = "processor_intents"  # what a sealed intent's secrets are bound to, with its key
# What a processor reports, as the state table's action that leads there.
ACTION_FOR_STATUS = {"captured": "capture", "cancelled": "cancel", "expired": "expire", "failed": "fail"}

FULL_CAPTURE = inputs.Capture()  # everything that was authorized

T = TypeVar("T")


@dataclass
class Resolved:
    """Payment details ready to charge, with the writes that must commit with the payment
    (marking a token used) and the customer it came from."""

    method: Method
    details: dict[str, Any]
    writes: list[Write]
    customer: str | None = None
    scenario: str | None = None
    # Details good for one payment of this amount and currency only (a verified secure token's).
    bound_to: tuple[int, str] | None = None


class DetailsSource(Protocol):
    """Where payment details come from when they are not given inline (tokens, customers)."""

    async def from_token(self, caller: Caller, token_id: str, param: str, now: int) -> Resolved: ...

    async def from_customer(self, caller: Caller, customer_id: str, now: int) -> Resolved: ...


@dataclass(frozen=True)
class Along:
    """A payment made for another object: a subscription's charge (dated `at` on the merchant's
    clock, tagged with the subscription) or a session's payment. `writes` (given the payment)
    commit in the payment's own unit of work, and answer the request: the payment's own answer
    is not stored as the idempotent request's answer."""

    writes: Callable[[Payment], list[Write]]
    subscription: str | None = None
    at: int | None = None


@dataclass
class Plan:
    """A processor call about to be claimed: its kind, the amount it reserves, the request as
    JSON (what recovery needs to ask again, and recording to apply the answer), the secrets it
    needs (sealed in the intent), and writes that go with the claim (a token used)."""

    kind: str
    amount: int
    request: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)


class _Unchanged(Exception):
    def __init__(self, payment: Payment) -> None:
        self.payment = payment


@dataclass
class Created:
    payment: Payment
    answer: dict[str, Any] | None = None  # the payment as answered, when already built

    @property
    def status_code(self) -> int:
        """202 while a prepaid payment is left pending (short), as KOMOJU answers."""
        return 202 if self.payment.status == "pending" else 200


class Payments:
    def __init__(
        self,
        store: Store,
        processors: Processors,
        clock_: Clock,
        events: Events,
        sources: DetailsSource,
        vault: Vault | LazyVault,
        intent_lease: int = INTENT_LEASE,
    ) -> None:
        self._store = store
        self._processors = processors
        self._clock = clock_
        self._events = events
        self._sources = sources
        self._vault = vault
        self._lease = intent_lease
        self._locks = KeyedLocks()

    @property
    def sources(self) -> DetailsSource:
        """Where stored details come from (subscriptions charge their customers' through it)."""
        return self._sources

    # -- reading ----------------------------------------------------------------------------

    async def get(self, caller: Caller, payment_id: str) -> Payment:
        payment = await table.get(self._store, caller.scope, payment_id)
        if payment is None:
            raise ApiError("not_found")
        return payment

    async def find(self, payment_id: str, mode: Mode | None = None) -> Payment:
        """A payment by its id alone, for the customer's pages (instructions, offsite), which have
        no API key: the 25-character id is the key. `mode="test"` for anything a test-mode
        control does to it, so that a live payment is never found there."""
        payment = await table.find(self._store, payment_id, mode) if params.object_id(payment_id) else None
        if payment is None:
            raise ApiError("not_found")
        return payment

    async def page(
        self, caller: Caller, filter_: PaymentFilter, number: int, per_page: int
    ) -> tuple[int, list[Payment]]:
        return await table.page(self._store, caller.scope, filter_, number, per_page)

    # -- creating ---------------------------------------------------------------------------

    async def create(
        self, caller: Caller, new: inputs.NewPayment, base_url: str, along: Along | None = None
    ) -> Created:
        try:
            return await self._create(caller, new, base_url, along, fresh_clock=False)
        except Conflict as conflict:
            if conflict.write.label != CLOCK_MOVED:
                raise
            # Moved by another process since this one read it: nothing was written.
            return await self._create(caller, new, base_url, along, fresh_clock=True)

    async def _create(
        self, caller: Caller, new: inputs.NewPayment, base_url: str, along: Along | None, fresh_clock: bool
    ) -> Created:
        at = along.at if along is not None else None
        held: list[Write] = []  # what the unit holds on: the clock read before, unmoved
        if at is not None:
            now = at
        elif fresh_clock or self._remote(caller):  # a remote charge is claimed before it is written
            now = await self._clock.now(caller)
        else:
            now, held = await self._clock.now_for_write(caller)
        resolved = await self._resolve(caller, new.source, now)
        if resolved.bound_to is not None and resolved.bound_to != (new.amount, new.currency):
            raise ApiError("invalid_token", "payment_details", message=OTHER_PAYMENT)
        method = resolved.method
        if new.currency not in method.limits:
            raise ApiError("invalid_currency", "currency", details=not_one_of(method.limits))
        least, most = method.limits[new.currency]
        if not least <= new.amount + new.tax <= most:
            raise invalid("amount", over_limit(least, most, new.currency))
        payment = Payment(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            method_type=method.type,
            status="pending",
            amount=new.amount,
            tax=new.tax,
            currency=new.currency,
            created_at=now,
            details={},
            customer=resolved.customer or new.customer,
            description=new.description,
            external_order_num=new.external_order_num,
            metadata=dict(new.metadata),
            locale=new.locale,
            # Where the customer goes back to after paying away from the API: the request's
            # return_url, or the one a redirect method takes in its payment_details.
            return_url=new.return_url or _given_return_url(resolved.details),
            cancel_url=new.cancel_url,
            fraud_details=new.fraud_details,
            capture=new.capture,
            webhooks=list(new.webhooks),
            subscription=along.subscription if along is not None else None,
            session=new.session,
        )
        processor = self._processor(caller)
        request = ChargeRequest(
            key=ids.new_id(),
            payment_id=payment.id,
            method=method,
            details=resolved.details,
            amount=payment.amount,
            tax=payment.tax,
            currency=payment.currency,
            capture=payment.capture,
            created_at=now,
            base_url=base_url,
            locale=payment.locale,
            external_order_num=payment.external_order_num,
            return_url=new.return_url,  # a processor reads payment_details[return_url] in the details
            scenario=new.scenario or resolved.scenario,
        )
        if processor.remote:
            return await self._charge_remotely(caller, processor, payment, request, resolved, along)
        result = await processor.charge(request)
        unit, answer = self._new_payment(caller, payment, method, resolved.details, result, along)
        try:
            await self._store.run([*unit, *resolved.writes, *self._answer(payment, answer, along), *held])
        except Conflict as conflict:
            if conflict.write in resolved.writes:  # the token was used by a concurrent request
                raise ApiError("invalid_token", "payment_details") from conflict
            self._clock.forget_if_moved(caller, conflict, held)
            raise
        return Created(payment, answer)

    async def _charge_remotely(
        self,
        caller: Caller,
        processor: Processor,
        payment: Payment,
        request: ChargeRequest,
        resolved: Resolved,
        along: Along | None,
    ) -> Created:
        """Claim, call, record. The token is used at the claim, so two requests can never both
        charge it; the details are sealed in the intent so recovery can ask again."""
        claim = self._claim_write(
            caller.scope,
            payment.id,
            request.key,
            "charge",
            payment.total,
            _charge_json(request, payment),
            dict(request.details),
            request.created_at,
        )
        try:
            await self._store.run([claim, *resolved.writes])
        except Conflict as conflict:
            if conflict.write in resolved.writes:
                raise ApiError("invalid_token", "payment_details") from conflict
            raise
        result = await self._call(request.key, processor.charge(request))
        return await self._record_charge(caller, processor, payment, request, result, along)

    async def _record_charge(
        self,
        caller: Caller,
        processor: Processor,
        payment: Payment,
        request: ChargeRequest,
        result: PaymentResult,
        along: Along | None,
    ) -> Created:
        unit, answer = self._new_payment(caller, payment, request.method, request.details, result, along)
        unit += [
            intents.settle(request.key, intents.SUCCEEDED, _result_json(result)),
            intents.remember_reference(processor.name, result.reference, caller.scope, payment.id),
            *self._answer(payment, answer, along),
        ]
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write.label != intents.SETTLE_LABEL:
                raise
            return Created(await self.get(caller, payment.id))  # recovery recorded it first
        return Created(payment, answer)

    def _new_payment(
        self,
        caller: Caller,
        payment: Payment,
        method: Method,
        details: Any,
        result: PaymentResult,
        along: Along | None,
    ) -> tuple[list[Write], dict[str, Any]]:
        """The unit that stores a payment the processor made, with its deadline timer and event."""
        now = payment.created_at
        payment.status = result.status
        payment.reference = result.reference
        payment.details = public_details(method, details, result.details)
        payment.payment_deadline = result.payment_deadline or deadline(method, details, now, payment.status)
        payment.deadline_shown = result.payment_deadline is not None or method.deadline is None or method.deadline.shown
        if payment.status == "captured":
            payment.captured_at = now
        unit = [*table.insert(payment)]
        if payment.payment_deadline is not None and states.allowed("expire", payment.status):
            # Unpaid past its deadline, it expires: the scheduler's reminder, one second after.
            unit.append(timers.set_(DEADLINE_TIMER, payment.id, *caller.scope, payment.payment_deadline + 1))
        answer = payment.to_api(caller.api_version)
        if payment.status in EVENT_FOR_STATUS:
            # The event answers in its own version, whichever the request asked for (often alike).
            alike = payment.answers_alike(caller.api_version, versions.EVENTS)
            data = dict(answer) if alike else payment.to_api(versions.EVENTS)
            unit += self._events.record(caller, EVENT_FOR_STATUS[payment.status], data, now, payment.webhooks)
        if along is not None:
            unit += along.writes(payment)
        return unit, answer

    @staticmethod
    def _answer(payment: Payment, answer: dict[str, Any], along: Along | None) -> list[Write]:
        """The idempotent request's answer, in the payment's unit; a payment made for another
        object (a subscription, a session) is answered by it, through `along.writes`."""
        if along is not None:
            return []
        return answers.writes_for(Created(payment).status_code, answer)

    async def _resolve(self, caller: Caller, source: inputs.PaymentSource, now: int) -> Resolved:
        if isinstance(source, inputs.CustomerDetails):
            return await self._sources.from_customer(caller, source.customer_id, now)
        if isinstance(source, inputs.TokenDetails):
            return await self._sources.from_token(caller, source.token_id, "payment_details", now)
        return Resolved(source.method, source.details, [])

    def _remote(self, caller: Caller) -> bool:
        processor = self._processors.for_mode(caller.mode)
        return processor is not None and processor.remote

    def _processor(self, caller: Caller) -> Processor:
        processor = self._processors.for_mode(caller.mode)
        if processor is None:
            raise ApiError("forbidden", message=LIVE_REFUSAL)
        return processor

    # -- calling a processor once per intent ------------------------------------------------

    def _claim_write(
        self,
        scope: tuple[str, str],
        payment_id: str,
        key: str,
        kind: str,
        amount: int,
        request: dict[str, Any],
        secrets: dict[str, Any],
        now: int,
    ) -> Write:
        sealed = self._vault.seal(secrets, SEALED_TABLE, key) if secrets else None
        lease_until = clock.now() + self._lease
        return intents.claim(key, scope, payment_id, kind, amount, request, lease_until, now, sealed)

    async def _call(self, key: str, call: Awaitable[T]) -> T:
        """The processor's answer; a refusal settles the intent failed and is answered as it is;
        no usable answer is 502 bad_gateway, the intent left pending when it may have arrived."""
        try:
            return await call
        except ApiError as refused:
            await self._settle_failed(key, refused.code)
            raise
        except Unanswered as lost:
            log.warning("processor unanswered (%s) for intent %s", lost.reason, key)
            if not lost.sent:
                await self._settle_failed(key, "unreachable")
            raise ApiError("bad_gateway") from None

    async def _settle_failed(self, key: str, reason: str) -> None:
        try:
            await self._store.run([intents.settle(key, intents.FAILED, {"error": reason})])
        except Conflict:
            pass  # recovery settled it meanwhile

    async def _act(
        self, caller: Caller, payment_id: str, plan: Callable[[Payment, list[Intent], int], Awaitable[Plan]]
    ) -> Payment:
        """Claim an intent, call the processor once with its key, record the answer. A processor
        that is not remote (the sandbox) is asked within one unit of work instead."""
        processor = self._processor(caller)
        key = ids.new_id()  # minted once: every retry below claims under it
        if not processor.remote:
            return await self._act_locally(caller, processor, payment_id, key, plan)
        claimed = await self._claim(caller, payment_id, key, plan)
        result = await self._call(key, _ask(processor, claimed.kind, key, claimed.request, claimed.secrets))
        return await self._record(caller, payment_id, key, claimed.kind, claimed.request, result)

    async def _act_locally(
        self,
        caller: Caller,
        processor: Processor,
        payment_id: str,
        key: str,
        plan: Callable[[Payment, list[Intent], int], Awaitable[Plan]],
    ) -> Payment:
        """Decide, ask and record in one unit of work, with no intent: the processor calls
        nothing outside this process, so asking it again after a lost race is harmless (as for
        a new payment, processors/base.py), and one commit answers the request, not two."""

        async def attempt() -> Payment:
            now, held = await self._clock.now_for_write(caller)
            payment, seen, planned = await self._planned(caller, payment_id, plan, now)
            result = await _ask(processor, planned.kind, key, planned.request, planned.secrets)
            writes = self._apply(caller, planned.kind, payment, planned.request, result, now)
            unit = [table.update(payment, seen), *planned.writes, *writes, *held]
            try:
                await self._run_spending(unit + answers.writes_for(200, payment.to_api(caller.api_version)))
            except Conflict as conflict:
                # Another process moved the clock since this one read it: change() makes the
                # next attempt (on CLOCK_MOVED, as after a lost race), which reads it again.
                self._clock.forget_if_moved(caller, conflict, held)
                raise
            return payment

        return await change(self._locks, payment_id, attempt, retry_on=(UPDATE_PAYMENT, CLOCK_MOVED))

    async def _claim(
        self,
        caller: Caller,
        payment_id: str,
        key: str,
        plan: Callable[[Payment, list[Intent], int], Awaitable[Plan]],
    ) -> Plan:
        async def attempt() -> Plan:
            now = await self._clock.now(caller)
            payment, seen, planned = await self._planned(caller, payment_id, plan, now)
            claim = self._claim_write(
                caller.scope, payment_id, key, planned.kind, planned.amount, planned.request, planned.secrets, now
            )
            await self._run_spending([table.update(payment, seen), claim, *planned.writes])
            return planned

        return await change(self._locks, payment_id, attempt, retry_on=(UPDATE_PAYMENT,))

    async def _planned(
        self,
        caller: Caller,
        payment_id: str,
        plan: Callable[[Payment, list[Intent], int], Awaitable[Plan]],
        now: int,
    ) -> tuple[Payment, int, Plan]:
        """The payment as read, the version read, and what `plan` makes of it at `now` (with
        the intents a remote processor left pending on it)."""
        found = await intents.payment_and_pending(self._store, caller.scope, payment_id)
        if found is None:
            raise ApiError("not_found")
        payment, pending = found
        return payment, payment.version, await plan(payment, pending, now)

    async def _run_spending(self, unit: list[Write]) -> None:
        """Runs a unit that may use a token (a prepaid top-up's): used concurrently, it is invalid."""
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write.label == USE_TOKEN:
                raise ApiError("invalid_token", "payment_details") from conflict
            raise

    async def _record(
        self, caller: Caller, payment_id: str, key: str, kind: str, request: dict[str, Any], result: Any
    ) -> Payment:
        """Applies the processor's answer; a lost race re-reads and applies again, never re-calls.
        Should every attempt lose, the intent stays pending and recovery records it later."""

        async def attempt() -> Payment:
            payment = await self.get(caller, payment_id)
            seen = payment.version
            now = await self._clock.now(caller)
            writes = self._apply(caller, kind, payment, request, result, now)
            unit = [table.update(payment, seen), intents.settle(key, intents.SUCCEEDED, _result_json(result)), *writes]
            try:
                await self._store.run([*unit, *answers.writes_for(200, payment.to_api(caller.api_version))])
            except Conflict as conflict:
                if conflict.write.label == intents.SETTLE_LABEL:  # recovery recorded it first
                    return await self.get(caller, payment_id)
                raise
            return payment

        return await change(self._locks, payment_id, attempt, retry_on=(UPDATE_PAYMENT,))

    def _apply(
        self, caller: Caller, kind: str, payment: Payment, request: dict[str, Any], result: Any, now: int
    ) -> list[Write]:
        if kind == "refund":
            return self._apply_refund(caller, payment, request, result, now)
        assert isinstance(result, PaymentResult)
        if kind == "capture" and request.get("tax") is not None and result.status == "captured":
            # What was authorized is kept for the versions that show the released rest as a refund.
            payment.authorized = {"amount": payment.amount, "tax": payment.tax, "refund_id": ids.new_id()}
            payment.amount, payment.tax = request["amount"], request["tax"]  # the rest was released
        if kind == "top_up":
            change = request.get("change") or {}
            if "description" in change:
                payment.description = change["description"]
            if "metadata" in change:
                payment.metadata = change["metadata"]
            method = method_of({"type": payment.method_type})
            shown = {k: v for k, v in result.details.items() if k in method.shows}
            payment.details = {**payment.details, **shown}
        if _move(payment, result.status):
            if payment.status == "captured":
                payment.captured_at = now
            return self._event(caller, f"payment.{payment.status}", payment, now)
        return self._event(caller, "payment.updated", payment, now)

    def _apply_refund(
        self, caller: Caller, payment: Payment, request: dict[str, Any], result: RefundResult, now: int
    ) -> list[Write]:
        refund_id = request["refund_id"]
        payment.refund_references = {**payment.refund_references, refund_id: result.reference}
        return self._add_refund(caller, payment, refund_id, result.amount, request.get("description"), now)

    def _add_refund(
        self, caller: Caller, payment: Payment, refund_id: str, amount: int, description: str | None, now: int
    ) -> list[Write]:
        """A refund made (by the processor, or by bank transfer for a refund request): the
        payment's refunds, its refunded amount and status, and the events that say so."""
        payment.refunds = [
            *payment.refunds,
            {
                "id": refund_id,
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
        full = payment.amount_refunded >= payment.total
        if states.allowed("refund", payment.status):
            payment.status = states.apply("refund" if full else "refund_partially", payment.status)
        writes = self._event(caller, "payment.refund.created", payment, now)
        if full:
            writes += self._event(caller, "payment.refunded", payment, now)
        return writes

    async def recover(self) -> int:
        """Settles intents left pending past their lease (their process died, or the answer was
        lost): asks the processor again with the same key, and records what it answers.
        Returns how many were settled."""
        settled = 0
        real_now = clock.now()
        for intent in await intents.overdue(self._store, real_now):
            processor = self._processors.for_mode(intent.mode)
            if processor is None:
                continue
            try:
                await self._store.run([intents.extend(intent.key, real_now + self._lease, intent.lease_until)])
            except Conflict:
                continue  # another process is recovering it
            secrets = self._vault.open(intent.sealed, SEALED_TABLE, intent.key) if intent.sealed else {}
            caller = Caller(intent.merchant_id, cast(Mode, intent.mode), "secret")
            try:
                if intent.kind == "charge":
                    request, payment = _charge_from_json(intent, secrets)
                    result = await self._call(intent.key, processor.charge(request))
                    await self._record_charge(caller, processor, payment, request, result, None)
                else:
                    result = await self._call(
                        intent.key, _ask(processor, intent.kind, intent.key, intent.request, secrets)
                    )
                    await self._record(caller, intent.payment_id, intent.key, intent.kind, intent.request, result)
            except ApiError as error:
                log.info("intent %s not settled by recovery: %s", intent.key, error.code)
                continue
            settled += 1
        return settled

    # -- changing ---------------------------------------------------------------------------

    async def _change(
        self,
        caller: Caller,
        payment_id: str,
        decide: Callable[[Payment, int], Awaitable[list[Write]]],
        at: int | None = None,
    ) -> Payment:
        """Read, decide, write if unchanged; start over when another request got there first.

        For changes that call no processor. `decide` changes the payment in place and returns
        the writes to go with it. `at` dates the change (the scheduler acts as of a deadline);
        otherwise it is the merchant's now. The payment is the answer of an idempotent request.
        """

        async def attempt() -> Payment:
            payment = await self.get(caller, payment_id)
            seen = payment.version
            now = at if at is not None else await self._clock.now(caller)
            extra = await decide(payment, now)
            unit = [table.update(payment, seen), *extra]
            await self._store.run([*unit, *answers.writes_for(200, payment.to_api(caller.api_version))])
            return payment

        return await change(self._locks, payment_id, attempt, retry_on=(UPDATE_PAYMENT,))

    def _event(self, caller: Caller, event_type: str, payment: Payment, now: int) -> list[Write]:
        return self._events.record(caller, event_type, payment.to_api(versions.EVENTS), now, payment.webhooks)

    async def update(self, caller: Caller, payment_id: str, change: inputs.PaymentChange) -> Created:
        if change.top_up is not None:
            return Created(await self._top_up(caller, payment_id, change))

        async def decide(payment: Payment, now: int) -> list[Write]:
            if change.set_description:
                payment.description = change.description
            if change.metadata is not None:
                payment.metadata = change.metadata
            return self._event(caller, "payment.updated", payment, now)

        return Created(await self._change(caller, payment_id, decide))

    async def _top_up(self, caller: Caller, payment_id: str, change: inputs.PaymentChange) -> Payment:
        """Another prepaid card for a payment that was short."""

        async def plan(payment: Payment, pending: list[Intent], now: int) -> Plan:
            method = method_of({"type": payment.method_type})
            if payment.status != "pending" or not method.continuable or _past_deadline(payment, now) or pending:
                raise invalid("payment_details")
            raw = change.top_up
            writes: list[Write] = []
            if isinstance(raw, str):
                resolved = await self._sources.from_token(caller, raw, "payment_details", now)
                details, writes = resolved.details, resolved.writes
                if resolved.method.type != method.type:
                    raise invalid("payment_details[type]")
            else:
                assert isinstance(raw, dict)
                if not raw.get("type"):
                    raw = {**raw, "type": method.type}
                if method_of(raw).type != method.type:
                    raise invalid("payment_details[type]")
                details = clean_details(method, raw)
            edits: dict[str, Any] = {}
            if change.set_description:
                edits["description"] = change.description
            if change.metadata is not None:
                edits["metadata"] = change.metadata
            request = {
                "reference": payment.reference or payment.id,
                "payment_id": payment.id,
                "method": method.type,
                "total": payment.total,
                "cards_used": list(payment.details.get("prepaid_cards") or []),
                "scenario": change.scenario,
                "change": edits,
            }
            return Plan("top_up", 0, request, secrets=details, writes=writes)

        return await self._act(caller, payment_id, plan)

    async def capture(self, caller: Caller, payment_id: str, wanted: inputs.Capture = FULL_CAPTURE) -> Payment:
        """Takes an authorized card payment: all of it, or part (the rest is released). After a
        partial capture the payment's amount, tax and total are what was captured."""

        async def plan(payment: Payment, pending: list[Intent], now: int) -> Plan:
            method = method_of({"type": payment.method_type})
            # Past its deadline an authorization has lapsed, even before the scheduler marks it.
            if (
                method.family is not Family.CARD
                or payment.status != "authorized"
                or _past_deadline(payment, now)
                or _moving(pending)
            ):
                raise ApiError("not_capturable")
            amount, tax = _captured(payment, wanted, method.limits[payment.currency][0])
            request: dict[str, Any] = {"reference": payment.reference or payment.id, "amount": None, "tax": None}
            if (amount, tax) != (payment.amount, payment.tax):
                request.update(amount=amount, tax=tax)
            return Plan("capture", amount + tax + payment.payment_method_fee, request)

        return await self._act(caller, payment_id, plan)

    async def cancel(self, caller: Caller, payment_id: str) -> Payment:
        async def plan(payment: Payment, pending: list[Intent], now: int) -> Plan:
            if not states.allowed("cancel", payment.status) or _moving(pending):
                raise ApiError("not_cancellable")
            return Plan("cancel", 0, {"reference": payment.reference or payment.id})

        return await self._act(caller, payment_id, plan)

    async def refund(self, caller: Caller, payment_id: str, refund: inputs.Refund) -> Payment:
        async def plan(payment: Payment, pending: list[Intent], now: int) -> Plan:
            method = method_of({"type": payment.method_type})
            if not method.refundable or payment.status != "captured":
                raise ApiError("not_refundable")
            reserved = sum(intent.amount for intent in pending if intent.kind == "refund")
            amount = _refund_amount(refund.amount, payment, already=reserved)
            if not method.partial_refunds and amount != payment.total:
                raise ApiError("not_refundable", "amount")  # all of it, at once, or nothing
            request = {
                "reference": payment.reference or payment.id,
                "amount": amount,
                "description": refund.description,
                "refund_id": ids.new_id(),
            }
            return Plan("refund", amount, request)

        return await self._act(caller, payment_id, plan)

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

    async def refund_request(self, caller: Caller, payment_id: str, wanted: inputs.RefundRequest) -> Payment:
        """A manual refund by bank transfer, for methods that cannot be refunded directly."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            method = method_of({"type": payment.method_type})
            if method.refundable or payment.status != "captured":
                raise ApiError("not_refundable")
            if wanted.problem is not None or wanted.account is None:
                raise wanted.problem or invalid("customer_name")
            pending = sum(r["amount"] for r in payment.refund_requests if r["status"] == "pending")
            request: dict[str, Any] = {
                "id": ids.new_id(),
                "resource": "refund_request",
                "payment": payment.id,
                "amount": _refund_amount(wanted.amount, payment, already=pending),
                "currency": payment.currency,
                "status": "pending",
                **asdict(wanted.account),
                "description": wanted.description,
                "created_at": clock.iso(now),
            }
            payment.refund_requests = [*payment.refund_requests, request]
            return self._event(caller, "payment.updated", payment, now)

        return await self._change(caller, payment_id, decide)

    async def settle_refund_request(
        self, caller: Caller, payment_id: str, request_id: str, outcome: RefundRequestOutcome
    ) -> Payment:
        """A pending refund request done by hand: `completed` (the money went back by bank
        transfer: a refund like any other, with its events) or `rejected` (nothing was refunded)."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            found = next((r for r in payment.refund_requests if r["id"] == request_id), None)
            if found is None:
                raise ApiError("not_found")
            if found["status"] != "pending":
                raise ApiError("unprocessable_entity", message=REQUEST_SETTLED.format(status=found["status"]))
            payment.refund_requests = [
                {**r, "status": outcome} if r["id"] == request_id else r for r in payment.refund_requests
            ]
            if outcome == "rejected":
                return self._event(caller, "payment.updated", payment, now)
            if found["amount"] > payment.refundable_amount or not states.allowed("refund", payment.status):
                raise ApiError("not_refundable")
            return self._add_refund(caller, payment, ids.new_id(), found["amount"], found.get("description"), now)

        return await self._change(caller, payment_id, decide)

    async def observe(self, caller: Caller, payment_id: str, seen: PaymentResult) -> Payment:
        """What the processor reports of a payment later (a webhook, a reconcile): a status it
        moved to (paid at the konbini, expired, cancelled) and refunds made at the processor
        (in its dashboard). Our payment follows, with our own events. Refunds are left alone
        while one of ours is in flight, since the processor may report it before we record it."""

        async def decide(payment: Payment, now: int) -> list[Write]:
            pending = await intents.pending_for(self._store, payment_id)
            writes: list[Write] = []
            if not _moving(pending) and _move(payment, seen.status):
                if payment.status == "captured":
                    payment.captured_at = now
                    payment.details = {**payment.details, **_shown(payment, seen.details)}
                writes += self._event(caller, f"payment.{payment.status}", payment, now)
            if not any(intent.kind == "refund" for intent in pending):
                known = set(payment.refund_references.values())
                for refund in seen.refunds:
                    if refund.reference not in known:
                        request = {"refund_id": ids.new_id(), "description": None}
                        writes += self._apply_refund(caller, payment, request, refund, now)
            if not writes:
                raise _Unchanged(payment)
            return writes

        try:
            return await self._change(caller, payment_id, decide)
        except _Unchanged as unchanged:
            return unchanged.payment


def _given_return_url(details: Any) -> str | None:
    """payment_details[return_url] (redirect methods take one; the method's rule checked it)."""
    value = details.get("return_url")
    return value if isinstance(value, str) else None


def _past_deadline(payment: Payment, now: int) -> bool:
    return payment.payment_deadline is not None and now > payment.payment_deadline


def _moving(pending: list[Intent]) -> bool:
    """A capture, cancel or top-up is in flight at the processor: the payment's status is about to change."""
    return any(intent.kind in ("capture", "cancel", "top_up") for intent in pending)


def _move(payment: Payment, status: str) -> bool:
    """Moves the payment to the status its processor reports; True if it moved. The processor
    holds the money, so its word stands even where our table would not lead there (a capture
    that reached it just as our deadline expired the payment); such a case is logged."""
    if status == payment.status or status not in ACTION_FOR_STATUS:
        return False
    action = ACTION_FOR_STATUS[status]
    if not states.allowed(action, payment.status):
        log.warning("payment %s: processor reports %s while it is %s", payment.id, status, payment.status)
        payment.status = status
        return True
    payment.status = states.apply(action, payment.status)
    return True


def _captured(payment: Payment, wanted: inputs.Capture, least: int) -> tuple[int, int]:
    """The amount (before tax) and tax a capture takes: what was authorized unless told less.
    Neither may grow past the authorization, nor the total fall below the method's minimum."""
    amount = payment.amount if wanted.amount is None else wanted.amount
    if wanted.tax == "auto":
        tax = money.auto_tax(amount)
    elif wanted.tax is None:
        tax = money.share(amount, payment.amount, payment.tax)
    else:
        tax = wanted.tax
    if amount > payment.amount:
        raise ApiError("not_capturable", "amount")
    if amount + tax > payment.amount + payment.tax:
        raise ApiError("not_capturable", "tax")
    if amount + tax + payment.payment_method_fee < least:
        raise ApiError("not_capturable", "amount")
    return amount, tax


def _shown(payment: Payment, details: Any) -> dict[str, Any]:
    method = method_of({"type": payment.method_type})
    return {k: v for k, v in dict(details).items() if k in method.shows}


def _refund_amount(wanted: int | None, payment: Payment, already: int = 0) -> int:
    left = payment.refundable_amount - already
    amount = left if wanted is None else wanted
    if amount <= 0 or amount > left:
        raise ApiError("not_refundable", "amount")
    return amount


def public_details(method: Method, details: dict[str, Any], made: Any) -> dict[str, Any]:
    """The payment_details a payment answers with: exactly the method's public fields (never a
    secret one: `Method` refuses to show one)."""
    merged = {**details, **made}
    if "provider" not in merged:
        merged["provider"] = None if "brand" in method.secret_fields else details.get("brand")
    return {name: merged.get(name) for name in method.shows}


def deadline(method: Method, details: Any, now: int, status: str) -> int | None:
    """When a payment made now in `status` lapses unpaid, per its method's declared deadline."""
    if method.deadline is None or (method.deadline.only_when_short and status != "pending"):
        return None
    days = details.get(method.expiry_field, method.deadline.days) if method.expiry_field else method.deadline.days
    if method.deadline.end_of_day:
        return clock.end_of_jst_day(now, days)
    return now + days * 86_400


# -- intents as JSON: what recovery needs to ask again ---------------------------------------


def _ask(processor: Processor, kind: str, key: str, request: dict[str, Any], secrets: dict[str, Any]) -> Awaitable[Any]:
    """The processor call an intent stands for, rebuilt from its JSON (and sealed secrets)."""
    reference = request["reference"]
    if kind == "capture":
        if request.get("tax") is None:  # everything authorized (intents from before partial capture too)
            return processor.capture(CaptureRequest(key, reference))
        return processor.capture(CaptureRequest(key, reference, request["amount"], request["tax"]))
    if kind == "refund":
        return processor.refund(RefundRequest(key, reference, request["amount"], request.get("description")))
    if kind == "cancel":
        return processor.cancel(CancelRequest(key, reference))
    if kind == "top_up":
        method = method_of({"type": request["method"]})
        cards_used = tuple(request.get("cards_used") or ())
        return processor.top_up(
            TopUpRequest(
                key,
                reference,
                request["payment_id"],
                method,
                secrets,
                request["total"],
                cards_used,
                request.get("scenario"),
            )
        )
    raise ValueError(f"unknown intent kind {kind!r}")


def _charge_json(request: ChargeRequest, payment: Payment) -> dict[str, Any]:
    fields = {name: getattr(request, name) for name in CHARGE_FIELDS}
    return {**fields, "method": request.method.type, "payment": orjson.loads(payment.to_doc())}


def _charge_from_json(intent: Intent, secrets: dict[str, Any]) -> tuple[ChargeRequest, Payment]:
    data = dict(intent.request)
    payment = Payment.from_doc(orjson.dumps(data.pop("payment")), 0)
    method = method_of({"type": data.pop("method")})
    fields = {name: data[name] for name in CHARGE_FIELDS}
    return ChargeRequest(key=intent.key, method=method, details=secrets, **fields), payment


CHARGE_FIELDS = tuple(f.name for f in dataclass_fields(ChargeRequest) if f.name not in ("key", "method", "details"))


def _result_json(result: PaymentResult | RefundResult) -> dict[str, Any]:
    if isinstance(result, RefundResult):
        return {"reference": result.reference, "amount": result.amount}
    return {"reference": result.reference, "status": result.status, "payment_deadline": result.payment_deadline}
