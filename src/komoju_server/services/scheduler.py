"""The scheduler: makes things happen when their time comes (deadlines, recurring charges).

Work is found through the timers table (`store.timers`), never by scanning the objects
themselves: one index on the real time each timer is due. The background task sleeps until
the earliest timer (at most `MAX_SLEEP`, to notice timers other server processes wrote),
fires everything due, and goes back to sleep. When a merchant's sandbox clock jumps,
`fire_through` fires every timer of that merchant the jump passed, one at a time in the
order of the merchant's clock, before the jump is answered.

A handler gets the object's id and the moment it is acting at (the timer's time on the
merchant's clock, so that what it creates is dated when it should have happened), decides
from the object itself, and returns when to look again (or None). Handlers are safe to run
twice: several server processes may fire one timer; the object's conditional update lets
exactly one of them act.

While the database cannot be reached (`StoreUnavailable`), timers are neither fired nor
postponed: the background task logs nothing of its own (the store logs the outage), tries
again after 0.5, 1, 2 ... seconds up to `MAX_SLEEP`, and picks up where it was once the
database is back; housekeeping that could not run runs then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from komoju_server.domain import clock
from komoju_server.domain.caller import Caller, Mode
from komoju_server.services.background import BackgroundTask
from komoju_server.store import Store, StoreUnavailable, Write
from komoju_server.store import timers as table
from komoju_server.store.timers import Timer

log = logging.getLogger("komoju_server")

Handler = Callable[[Caller, str, int], Awaitable[int | None]]
Chore = Callable[[], Awaitable[Any]]

MAX_SLEEP = 10.0  # seconds; bounds how late a timer written by another process is noticed
BATCH = 100
RETRY_AFTER = 60  # real seconds before a timer whose handler failed is tried again
CHORE_EVERY = 600  # seconds between housekeeping runs (forgetting expired idempotency keys)
OUTAGE_FIRST_RETRY = 0.5  # seconds; doubles while the database stays unreachable, up to MAX_SLEEP


class Scheduler:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._handlers: dict[str, Handler] = {}
        self._chores: list[tuple[Chore, float]] = []
        self._chores_due: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task = BackgroundTask("scheduler", self._run)

    def handle(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def chore(self, chore: Chore, every: float = CHORE_EVERY) -> None:
        """Runs `chore` about every `every` seconds (the loop wakes at least every MAX_SLEEP)."""
        self._chores.append((chore, every))

    # -- timers, for units of work ---------------------------------------------------------

    @staticmethod
    def timer(kind: str, ref_id: str, caller: Caller, fire_at: int) -> Write:
        return table.set_(kind, ref_id, caller.merchant_id, caller.mode, fire_at)

    @staticmethod
    def cancel(kind: str, ref_id: str) -> Write:
        return table.cancel(kind, ref_id)

    def wake(self) -> None:
        """Timers changed: look again at what is due next."""
        self._wake.set()

    # -- firing ------------------------------------------------------------------------------

    async def fire_through(self, caller: Caller, now: int) -> int:
        """Fires, oldest first, every timer of the caller's merchant and mode due by `now` on
        its clock; returns how many fired. A timer whose handler fails is postponed and stops
        the run: the background rounds try it, and those after it, again."""
        fired = 0
        while (timer := await table.first_due_for(self._store, caller.scope, now)) is not None:
            if not await self._fire_or_postpone(timer):
                break
            fired += 1
        return fired

    async def _fire_or_postpone(self, timer: Timer) -> bool:
        try:
            await self._fire(timer)
        except StoreUnavailable:  # not the timer's fault: it stays due, as it is
            raise
        except Exception as exc:  # one broken object must not stop the others
            log.error("%s timer of %s failed: %s; retrying later", timer.kind, timer.ref_id, type(exc).__name__)
            await self._store.run([table.postponed(timer, clock.now() + RETRY_AFTER)])
            return False
        return True

    async def _fire(self, timer: Timer) -> None:
        handler = self._handlers.get(timer.kind)
        next_at = None
        if handler is not None:
            caller = Caller(timer.merchant_id, cast(Mode, timer.mode), "secret")
            next_at = await handler(caller, timer.ref_id, timer.fire_at)
        else:
            log.warning("no handler for %s timers; dropping %s", timer.kind, timer.ref_id)
        if next_at is not None and next_at > timer.fire_at:
            await self._store.run([table.moved(timer, next_at)])
        else:
            await self._store.run([table.done(timer)])

    async def fire_due(self) -> int:
        """Fires whatever is due in real time, across all merchants; returns how many fired."""
        due = await table.due(self._store, clock.now(), BATCH)
        for timer in due:
            await self._fire_or_postpone(timer)
        return len(due)

    # -- the background task -------------------------------------------------------------------

    async def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        outage_delay = OUTAGE_FIRST_RETRY
        while True:
            self._wake.clear()
            delay = MAX_SLEEP
            try:
                if await self.fire_due() >= BATCH:
                    continue
                await self._housekeeping()
                next_at = await table.next_due_at(self._store)
                if next_at is not None:
                    delay = min(MAX_SLEEP, max(0.0, next_at - time.time()))
                outage_delay = OUTAGE_FIRST_RETRY
            except StoreUnavailable:  # logged by the store, once per outage
                delay, outage_delay = outage_delay, min(MAX_SLEEP, outage_delay * 2)
            except Exception as exc:
                log.error("scheduler: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _housekeeping(self) -> None:
        for number, (chore, every) in enumerate(self._chores):
            if time.monotonic() < self._chores_due.get(number, 0.0):
                continue
            self._chores_due[number] = time.monotonic() + every
            try:
                await chore()
            except StoreUnavailable:
                self._chores_due[number] = 0.0  # run it once the database is back
                raise
