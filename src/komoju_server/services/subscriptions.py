"""Subscription use cases: create (with its first charge), show, list, delete, and the
recurring charges the scheduler makes.

Every charge is a real payment made through the payments service from the customer's
stored details. The payment, the subscription's new state, its events and its next timer
commit in one unit of work, conditional on the subscription's version: of two processes
firing the same charge, one charges and the other finds the subscription moved on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from komoju_server.domain import ids, money, params
from komoju_server.domain.caller import Caller
from komoju_server.domain.clock import TimeRange
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.payment import Payment
from komoju_server.domain.subscription import ACTIVE, PERIODS, Subscription
from komoju_server.methods import Family
from komoju_server.services import answers
from komoju_server.services.changes import change
from komoju_server.services.clock import Clock
from komoju_server.services.customers import Customers
from komoju_server.services.events import Events
from komoju_server.services.inputs import CustomerDetails, NewPayment
from komoju_server.services.locks import KeyedLocks
from komoju_server.services.payments import Along, Payments
from komoju_server.services.scheduler import Scheduler
from komoju_server.store import Store, Write
from komoju_server.store import subscriptions as table

CHARGE_TIMER = "subscription.charge"
# A change or charge that lost the race for its subscription: read it again and start over.
RETRY_ON = (table.UPDATE_LABEL,)
CARDS_ONLY = "Subscriptions charge credit cards: this customer's payment details are not a credit card."


class Subscriptions:
    def __init__(
        self,
        store: Store,
        clock_: Clock,
        payments: Payments,
        customers: Customers,
        events: Events,
        scheduler: Scheduler,
        base_url: str,
    ) -> None:
        self._store = store
        self._clock = clock_
        self._payments = payments
        self._customers = customers
        self._events = events
        self._scheduler = scheduler
        self._base_url = base_url  # for charges the scheduler makes, outside any request
        self._locks = KeyedLocks()

    # -- reading ----------------------------------------------------------------------------

    async def get(self, caller: Caller, subscription_id: str) -> Subscription:
        found = await table.get(self._store, caller.scope, subscription_id)
        if found is None:
            raise ApiError("not_found")
        return found

    async def page(
        self, caller: Caller, created: TimeRange, number: int, per_page: int
    ) -> tuple[int, list[Subscription]]:
        return await table.page(self._store, caller.scope, created, number, per_page)

    # -- creating ---------------------------------------------------------------------------

    async def create(self, caller: Caller, body: dict[str, Any], base_url: str, scenario: str | None) -> Subscription:
        """A subscription and its first charge, made now. A declined first charge answers its
        error and leaves nothing behind."""
        customer = body.get("customer")
        if not params.present(customer):
            raise missing("customer")
        if not params.present(body.get("amount")):
            raise missing("amount")
        amount = money.amount(body.get("amount"))
        currency = money.currency(body.get("currency"))
        period = body.get("period")
        if not params.present(period):
            raise missing("period")
        if period not in PERIODS:
            raise invalid("period")
        metadata = params.metadata(body.get("metadata"))
        now = await self._clock.now(caller)
        resolved = await self._payments.sources.from_customer(caller, customer, now)
        if resolved.method.family is not Family.CARD:
            raise ApiError("invalid_parameter", "customer", message=CARDS_ONLY)
        record = (await self._customers.get(caller, str(customer))).as_embedded()
        subscription = Subscription(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            status=ACTIVE,
            amount=amount,
            currency=currency,
            period=period,
            customer=str(customer),
            created_at=now,
            anchor=now,
            cycle=0,
            payment_details={},
            metadata=metadata,
            customer_record=record,
        )

        def writes(payment: Payment) -> list[Write]:
            # Only a card paid on the spot is a charge: a customer whose details were changed to
            # another method since makes this charge fail (and nothing of it is written).
            if payment.method_type != "credit_card" or payment.status != "captured":
                raise ApiError("invalid_parameter", "customer", message=CARDS_ONLY)
            subscription.charged(payment.id, payment.details)
            return [
                table.insert(subscription),
                *self._event(caller, "subscription.created", subscription, now),
                *self._event(caller, "subscription.captured", subscription, now),
                *self._timer(caller, subscription),
                # The request's answer is the subscription, not its first charge's payment.
                *answers.writes_for(200, subscription.to_api()),
            ]

        along = Along(writes, subscription=subscription.id, at=now)
        await self._payments.create(caller, self._payment_of(subscription, scenario), base_url, along)
        self._scheduler.wake()
        return subscription

    # -- changing ---------------------------------------------------------------------------

    async def delete(self, caller: Caller, subscription_id: str) -> Subscription:
        """Stops the charges; a subscription already deleted is answered as it is."""

        def decide(subscription: Subscription, now: int) -> list[Write] | None:
            if subscription.status == "deleted":
                return None
            subscription.deleted(now)
            return [
                *self._event(caller, "subscription.deleted", subscription, now),
                self._scheduler.cancel(CHARGE_TIMER, subscription.id),
            ]

        return await self._change(caller, subscription_id, decide)

    async def charge_due(self, caller: Caller, subscription_id: str, at: int) -> int | None:
        """The scheduler's handler: makes the charge (or retry) due by `at`, as of `at`.
        Returns when the subscription next needs charging."""

        async def attempt() -> int | None:
            subscription = await table.get(self._store, caller.scope, subscription_id)
            if subscription is None:
                return None
            due = subscription.due_at
            if due is None or due > at:
                return due
            # Charged, deleted or failed meanwhile by someone else: `change` looks again.
            return (await self._charge(caller, subscription, at)).due_at

        return await change(self._locks, subscription_id, attempt, RETRY_ON)

    async def _charge(self, caller: Caller, subscription: Subscription, at: int) -> Subscription:
        seen = subscription.version

        def writes(payment: Payment) -> list[Write]:
            # Only a card paid on the spot is a charge: a customer whose details were changed to
            # another method since makes this charge fail (and nothing of it is written).
            if payment.method_type != "credit_card" or payment.status != "captured":
                raise ApiError("invalid_parameter", "customer", message=CARDS_ONLY)
            subscription.charged(payment.id, payment.details)
            return [
                table.update(subscription, seen),
                *self._event(caller, "subscription.captured", subscription, at),
                *self._timer(caller, subscription),
            ]

        try:
            along = Along(writes, subscription=subscription.id, at=at)
            await self._payments.create(caller, self._payment_of(subscription), self._base_url, along)
            return subscription
        except ApiError:  # declined, or the customer is gone: the charge failed
            pass
        failed = await self.get(caller, subscription.id)  # as stored: the attempt changed nothing
        if failed.version != seen:
            return failed
        suspended = failed.failed(at)
        unit = [table.update(failed, seen), *self._event(caller, "subscription.failed", failed, at)]
        if suspended:
            unit += self._event(caller, "subscription.suspended", failed, at)
        await self._store.run([*unit, *self._timer(caller, failed)])
        return failed

    async def _change(
        self, caller: Caller, subscription_id: str, decide: Callable[[Subscription, int], list[Write] | None]
    ) -> Subscription:
        """Read, decide, write if unchanged; start over when another change got there first.
        `decide` changes the subscription in place; None leaves it as it is."""

        async def attempt() -> Subscription:
            subscription = await self.get(caller, subscription_id)
            seen = subscription.version
            extra = decide(subscription, await self._clock.now(caller))
            if extra is not None:
                await self._store.run([table.update(subscription, seen), *extra])
            return subscription

        return await change(self._locks, subscription_id, attempt, RETRY_ON)

    # -- parts ------------------------------------------------------------------------------------

    @staticmethod
    def _payment_of(subscription: Subscription, scenario: str | None = None) -> NewPayment:
        """One charge of the subscription: its amount (with the usual 10% tax) from its customer."""
        return NewPayment(
            amount=subscription.amount,
            currency=subscription.currency,
            tax=money.tax(None, subscription.amount),
            source=CustomerDetails(subscription.customer),
            scenario=scenario,
        )

    def _event(self, caller: Caller, event_type: str, subscription: Subscription, now: int) -> list[Write]:
        return self._events.record(caller, event_type, subscription.to_api(), now)

    def _timer(self, caller: Caller, subscription: Subscription) -> list[Write]:
        due = subscription.due_at
        if due is None:
            return [self._scheduler.cancel(CHARGE_TIMER, subscription.id)]
        return [self._scheduler.timer(CHARGE_TIMER, subscription.id, caller, due)]
