"""Each merchant's clock: real time in live mode; real time plus the sandbox offset in test mode.

The offset lives in the database, so every server process agrees. With one process (SQLite:
the database has no other) it keeps what it read for a second, and forgets at once what it
changed itself. With several (PostgreSQL: workers, hosts) it reads the offset with every
request: a clock moved on one host is the clock of the next request on any other, as the
sandbox's users expect (tests/e2e/test_hosts.py), for one indexed read of the merchant's row.
"""

from __future__ import annotations

import time

from komoju_server.domain import clock
from komoju_server.domain.caller import Caller
from komoju_server.store import Store, Write
from komoju_server.store import merchants as table

ONE_PROCESS_TTL = 1.0  # seconds an offset read is kept when no other process can change it


class Clock:
    def __init__(self, store: Store, cache_seconds: float = ONE_PROCESS_TTL) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._offsets: dict[str, tuple[int, float]] = {}

    async def now(self, caller: Caller) -> int:
        if caller.mode == "live":
            return clock.now()
        return clock.now() + await self.offset(caller.merchant_id)

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
