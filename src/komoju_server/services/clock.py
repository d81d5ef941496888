"""Each merchant's clock: real time in live mode; real time plus the sandbox offset in test mode.

The offset lives in the database, so every server process agrees. With one process (SQLite:
the database has no other) it keeps what it read for a second, and forgets at once what it
changed itself. With several (PostgreSQL: workers, hosts) `now` reads the offset with every
request: a clock moved on one host is the clock of the next request on any other, as the
sandbox's users expect (tests/e2e/test_hosts.py), for one indexed read of the merchant's row.

A request that writes what it dates can spare that read (`now_for_write`): it takes the offset
this process read last, and its unit of work holds on the offset being unchanged, checked by
the database as the unit is written. Moved meanwhile, the unit writes nothing and fails on
that condition (a `Conflict` labelled `CLOCK_MOVED`; `forget_if_moved` forgets the offset),
and the request is made again with a fresh read.
"""

from __future__ import annotations

import time

from komoju_server.domain import clock
from komoju_server.domain.caller import Caller
from komoju_server.store import Conflict, Store, Write
from komoju_server.store import merchants as table

ONE_PROCESS_TTL = 1.0  # seconds an offset read is kept when no other process can change it


class Clock:
    def __init__(self, store: Store, cache_seconds: float = ONE_PROCESS_TTL, shared: bool = False) -> None:
        """`shared`: other processes write the database (PostgreSQL), so `now_for_write` has
        the unit check the offset it takes."""
        self._store = store
        self._ttl = cache_seconds
        self._shared = shared
        self._offsets: dict[str, tuple[int, float]] = {}  # merchant -> (offset, when it was read)

    async def now(self, caller: Caller) -> int:
        if caller.mode == "live":
            return clock.now()
        return clock.now() + await self.offset(caller.merchant_id)

    async def now_for_write(self, caller: Caller) -> tuple[int, list[Write]]:
        """Now, for a unit of work that writes with it, and the conditions the unit must hold
        on (none in one process, or in live mode, which has no offset)."""
        if not self._shared or caller.mode == "live":
            return await self.now(caller), []
        known = self._offsets.get(caller.merchant_id)
        offset = known[0] if known is not None else await self.offset(caller.merchant_id)
        return clock.now() + offset, [table.clock_unmoved(caller.merchant_id, offset)]

    def forget_if_moved(self, caller: Caller, conflict: Conflict, held: list[Write]) -> bool:
        """Whether `conflict` is the failure of one of `held`, the conditions `now_for_write`
        gave: the clock moved, and what this process read of it is forgotten."""
        if conflict.write not in held:
            return False
        self.forget(caller.merchant_id)
        return True

    async def offset(self, merchant_id: str) -> int:
        cached = self._offsets.get(merchant_id)
        if cached is not None and time.monotonic() - cached[1] < self._ttl:
            return cached[0]
        value = await table.clock_offset(self._store, merchant_id)
        self._offsets[merchant_id] = (value, time.monotonic())
        return value

    def advance(self, merchant_id: str, seconds: int) -> Write:
        self._offsets.pop(merchant_id, None)
        return Write(
            "UPDATE merchants SET clock_offset = clock_offset + ? WHERE id = ?", (seconds, merchant_id), expect=1
        )

    def forget(self, merchant_id: str) -> None:
        self._offsets.pop(merchant_id, None)
