"""Keeping live payments in step with an upstream processor: its webhooks, and a reconcile.

What happens upstream after our call answered (a konbini slip paid, a payment expired, a
refund made in the upstream's dashboard) reaches us two ways. The upstream's signed webhooks
arrive at `POST /processors/NAME/webhooks` (`receive`): the event's payment, found by its
reference, is handed to the payments service's `observe`. And every so often (`reconcile`)
each open payment made through the processor is looked up and observed, so a lost or
never-configured webhook delays a change, but never loses it. `observe` applies only moves
our own state table allows, so an old event arriving late changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol, cast

import orjson

from komoju_server.domain.caller import Caller, Mode
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.processors.base import Observable, PaymentResult, Unanswered
from komoju_server.services.background import BackgroundTask
from komoju_server.store import Store, intents
from komoju_server.webhooks import signing

log = logging.getLogger("komoju_server")

OPEN = ("pending", "authorized")
MAX_REMEMBERED_UNKNOWN = 10_000  # unknown references already logged; bounds the memory a flood may take


class Observer(Protocol):
    """The payments service's side: apply what the processor reports to our payment."""

    async def get(self, caller: Caller, payment_id: str) -> Payment: ...

    async def observe(self, caller: Caller, payment_id: str, result: PaymentResult) -> Payment: ...


class UpstreamPayments:
    def __init__(
        self,
        store: Store,
        processor: Observable,
        payments: Observer,
        webhook_secret: str | None,
        reconcile_every: float,
    ) -> None:
        self._store = store
        self._processor = processor
        self._payments = payments
        self._webhook_secret = webhook_secret
        self._reconcile_every = reconcile_every
        self._unknown: set[str] = set()
        self._task = BackgroundTask("reconcile", self._reconcile_forever)

    @property
    def processor_name(self) -> str:
        return self._processor.name

    # -- webhooks -------------------------------------------------------------------------------

    async def receive(self, body: bytes, signature: str | None) -> str:
        """One webhook from the upstream: verified, then observed. Answers what was done (for
        the log); raises ApiError when the webhook is not the upstream's or not an event."""
        if not self._webhook_secret:
            # Unsigned events would let anyone mark payments captured: without a secret, none count.
            raise ApiError("unauthorized", message="No webhook secret is configured for this processor.")
        if not signature or not signing.verify(self._webhook_secret, body, signature):
            raise ApiError("unauthorized", message="The webhook signature does not match.")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError("bad_request", message="The webhook body is not JSON.") from None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ApiError("bad_request", message="The webhook body is not an event.")
        try:
            result = self._processor.read_event(event)
        except ValueError:
            raise ApiError("bad_request", message="The event's data is not a payment.") from None
        if result is None:
            return f"ignored {event['type']}"  # nothing of ours moves
        return await self._observe(result, why=event["type"])

    async def _observe(self, result: PaymentResult, why: str) -> str:
        found = await intents.payment_for(self._store, self._processor.name, result.reference)
        if found is None:
            # Not ours (another gateway on the same upstream account, or a payment made in its
            # dashboard): acknowledged so the upstream stops retrying, and logged once.
            if result.reference not in self._unknown:
                if len(self._unknown) >= MAX_REMEMBERED_UNKNOWN:
                    self._unknown.clear()
                self._unknown.add(result.reference)
                log.info(
                    "%s %s: no payment here has reference %s; ignored", self._processor.name, why, result.reference
                )
            return "unknown reference"
        merchant_id, mode, payment_id = found
        caller = Caller(merchant_id, cast(Mode, mode), "secret")
        try:
            payment = await self._payments.observe(caller, payment_id, result)
        except ApiError as exc:  # e.g. the payment was erased: asking again would not help
            log.warning("%s %s for payment %s not applied: %s", self._processor.name, why, payment_id, exc.code)
            return f"not applied ({exc.code})"
        return f"payment {payment_id} {payment.status}"

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self) -> int:
        """Looks up every open payment made through the processor and observes those whose
        status moved upstream; answers how many were observed."""
        observed = 0
        for merchant_id, mode, payment_id, reference in await intents.open_payments(self._store, self._processor.name):
            caller = Caller(merchant_id, cast(Mode, mode), "secret")
            try:
                result = await self._processor.lookup(reference)
                payment = await self._payments.get(caller, payment_id)
                if result.status == payment.status:
                    continue
                await self._payments.observe(caller, payment_id, result)
                observed += 1
            except Unanswered as exc:
                log.warning("%s reconcile: %s", self._processor.name, exc.reason)
                if not exc.sent:
                    break  # the upstream is down: the next round tries them all again
            except ApiError as exc:
                log.warning("%s reconcile of payment %s: %s", self._processor.name, payment_id, exc.code)
        return observed

    async def start(self) -> None:
        if self._reconcile_every > 0:
            self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self._reconcile_every)
            try:
                await self.reconcile()
            except Exception as exc:  # the database or the upstream misbehaved; try next round
                log.error("%s reconcile failed: %s", self._processor.name, type(exc).__name__)
