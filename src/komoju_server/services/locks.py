"""Per-object locks within one server process.

Changes to one object are conditional writes (`WHERE version = ?`), which keep them correct
across processes; but when many requests of one process change the same object at once,
all but one lose each round and the losers can run out of attempts. Queuing them on a lock
first makes them take turns, so only changes from other processes ever race.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """One asyncio.Lock per key, kept only while someone holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


# What a change answers when other processes kept winning the race for its object.
BUSY_MESSAGE = "The object was changed by other requests at the same time; please try again."
