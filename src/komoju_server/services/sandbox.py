"""Sandbox controls (this server's extension, test mode only): drive what happens away from
the API (the customer pays, or gives up), move the merchant's clock, erase the test data,
and switch the merchant's test mode into maintenance.

A live key is refused with 403: none of this may touch live data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from komoju_server.domain import params, rules
from komoju_server.domain.caller import Caller
from komoju_server.domain.clock import iso
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.payment import Payment
from komoju_server.services import answers
from komoju_server.services.clock import Clock
from komoju_server.services.payments import Payments, RefundRequestOutcome
from komoju_server.services.scheduler import Scheduler
from komoju_server.store import Store, Write, timers
from komoju_server.store import merchants as merchants_table
from komoju_server.store.reset import ERASED, Eraser

LIVE_REFUSAL = "The sandbox controls work in test mode only: use a test key."
MAX_ADVANCE = 366 * 86_400  # one call moves the clock at most a (leap) year
_TTL = 1.0  # seconds a process trusts what it read of a merchant's maintenance switch


def clock_body(now: int, offset: int) -> dict[str, Any]:
    """The answer of the clock's GET and advance: the merchant's time and its lead on real time."""
    return {"resource": "sandbox_clock", "now": iso(now), "offset": offset}


def maintenance_body(enabled: bool) -> dict[str, Any]:
    return {"resource": "sandbox_maintenance", "enabled": enabled}


def seconds(value: Any) -> int:
    """A positive whole number of seconds, at most `MAX_ADVANCE` (a JSON number or a string of digits)."""
    if not params.present(value):
        raise missing("seconds")
    if isinstance(value, bool):
        raise invalid("seconds")
    if isinstance(value, str):
        value = rules.whole_number(value.strip())
    if not isinstance(value, int) or not 0 < value <= MAX_ADVANCE:
        raise invalid("seconds")
    return value


class Sandbox:
    def __init__(
        self,
        store: Store,
        clock_: Clock,
        payments: Payments,
        scheduler: Scheduler,
        erasers: Mapping[str, Eraser] = ERASED,  # what a reset erases: store/reset.py
    ) -> None:
        self._store = store
        self._clock = clock_
        self._payments = payments
        self._scheduler = scheduler
        self._maintenance: dict[str, tuple[bool, float]] = {}
        self._erasers = dict(erasers)  # in order: a table's rows go before those they are found through

    @staticmethod
    def _check(caller: Caller) -> None:
        if caller.mode != "test":
            raise ApiError("forbidden", message=LIVE_REFUSAL)

    # -- payments -----------------------------------------------------------------------------

    async def complete(self, caller: Caller, payment_id: str) -> Payment:
        self._check(caller)
        return await self._payments.complete(caller, payment_id)

    async def fail(self, caller: Caller, payment_id: str) -> Payment:
        self._check(caller)
        return await self._payments.fail(caller, payment_id)

    async def settle_refund_request(
        self, caller: Caller, payment_id: str, request_id: str, outcome: RefundRequestOutcome
    ) -> Payment:
        """KOMOJU's staff made the bank transfer of a refund request (`completed`), or refused it."""
        self._check(caller)
        return await self._payments.settle_refund_request(caller, payment_id, request_id, outcome)

    async def cancel(self, caller: Caller, payment_id: str) -> Payment:
        """The customer cancelled on the provider's (simulated) site: as POST /payments/:id/cancel."""
        self._check(caller)
        return await self._payments.cancel(caller, payment_id)

    # -- the clock ----------------------------------------------------------------------------

    async def now(self, caller: Caller) -> tuple[int, int]:
        """The merchant's time and how far ahead of real time it is."""
        self._check(caller)
        return await self._clock.now(caller), await self._clock.offset(caller.merchant_id)

    async def advance(self, caller: Caller, body: dict[str, Any]) -> tuple[int, int]:
        """Moves the merchant's test clock forward; everything due in between happens, in the
        order of the clock, before this returns."""
        self._check(caller)
        step = seconds(body.get("seconds"))
        await self._store.run([self._clock.advance(caller.merchant_id, step), timers.resync(caller.merchant_id)])
        self._clock.forget(caller.merchant_id)
        now = await self._clock.now(caller)
        with answers.suspended():  # what falls due is not this request's answer
            await self._scheduler.fire_through(caller, now)
        offset = await self._clock.offset(caller.merchant_id)
        # Again: a timer written while the clock moved (a payment created at that very moment,
        # on PostgreSQL) may have read the old offset.
        await self._store.run([timers.resync(caller.merchant_id), *answers.writes_for(200, clock_body(now, offset))])
        self._scheduler.wake()
        return now, offset

    # -- erasing ------------------------------------------------------------------------------

    async def reset(self, caller: Caller) -> dict[str, int]:
        """Erases the merchant's test data in one unit of work, puts its clock back to real
        time and its maintenance switch off; returns how many rows each table lost."""
        self._check(caller)
        unit: list[Write] = []
        firsts: dict[str, int] = {}
        for name, erase in self._erasers.items():
            firsts[name] = len(unit)
            unit += erase(caller.merchant_id, "test")
        unit += [
            merchants_table.reset_clock(caller.merchant_id),
            merchants_table.set_sandbox_maintenance(caller.merchant_id, False),
        ]
        # No idempotent answer goes in this unit (services.answers): the answer is the row counts
        # the unit returns, and the unit erases the merchant's idempotency keys, this one's too.
        counts = await self._store.run(unit)
        self._clock.forget(caller.merchant_id)
        self._maintenance.pop(caller.merchant_id, None)
        self._scheduler.wake()
        return {name: counts[index] for name, index in firsts.items()}

    # -- maintenance --------------------------------------------------------------------------

    async def set_maintenance(self, caller: Caller, body: dict[str, Any]) -> bool:
        self._check(caller)
        if not params.present(body.get("enabled")):
            raise missing("enabled")
        enabled = params.boolean(body.get("enabled"), "enabled", False)
        switch = merchants_table.set_sandbox_maintenance(caller.merchant_id, enabled)
        await self._store.run([switch, *answers.writes_for(200, maintenance_body(enabled))])
        self._maintenance[caller.merchant_id] = (enabled, time.monotonic())
        return enabled

    async def in_maintenance(self, caller: Caller) -> bool:
        """Whether the merchant switched its test mode into maintenance (live is never)."""
        if caller.mode != "test":
            return False
        cached = self._maintenance.get(caller.merchant_id)
        if cached is not None and time.monotonic() - cached[1] < _TTL:
            return cached[0]
        value = await merchants_table.sandbox_maintenance(self._store, caller.merchant_id)
        self._maintenance[caller.merchant_id] = (value, time.monotonic())
        return value
