"""The recent API requests of each merchant, for the dashboard: method, path (never the query
string, which may hold an email address), status, time and request id. Never a body, a
header or a key.

Recording must cost the API nothing it would notice, so a request only appends a tuple to a
bounded buffer of its (merchant, mode) in this process (`record`, no I/O, no await); a
background task writes the buffers every `FLUSH_EVERY` seconds as one unit of work
(`store/request_log.py`), which also prunes the table to the newest `KEEP` rows of each
merchant and mode it touched. A buffer holds at most `KEEP` entries: under load most requests
are overwritten in memory before they would be written and pruned anyway, so the database
work per second is bounded by the number of merchants, not by the request rate.

A table, rather than only an in-memory ring per process: with several server processes
(PostgreSQL, `--workers`) each process sees the requests every process served, and they
survive a restart. The price is that another process's requests show up to `FLUSH_EVERY`
seconds late; this process's own are written before the dashboard reads (`newest`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from komoju_server.console import printable, printable_path
from komoju_server.domain import clock
from komoju_server.domain.caller import Caller
from komoju_server.services.background import BackgroundTask
from komoju_server.store import Store, StoreUnavailable, Write
from komoju_server.store import request_log as table
from komoju_server.store.request_log import KEEP, Logged

log = logging.getLogger("komoju_server")

FLUSH_EVERY = 1.0  # seconds

Entry = tuple[str, str, int, str, int]  # method, path, status, request id, time (ms)


class RecentRequests:
    def __init__(self, store: Store, keep: int = KEEP, flush_every: float = FLUSH_EVERY) -> None:
        self._store = store
        self._keep = keep
        self._flush_every = flush_every
        self._buffers: dict[tuple[str, str], deque[Entry]] = {}
        self._task = BackgroundTask("recent-requests", self._run)
        self._flushing = asyncio.Lock()

    def record(self, caller: Caller, method: str, path: str, status: int, request_id: str) -> None:
        """Notes one answered request (called for every authenticated API request)."""
        scope = (caller.merchant_id, caller.mode)
        buffer = self._buffers.get(scope)
        if buffer is None:
            buffer = self._buffers[scope] = deque(maxlen=self._keep)
        # Kept as they came, escaped when written (flush): under load most entries are pushed
        # out of the buffer by newer ones before then, and are never escaped at all.
        buffer.append((method, path, status, request_id, clock.now_ms()))

    async def newest(self, caller: Caller, limit: int = KEEP) -> list[Logged]:
        """The merchant's newest requests in this mode, newest first."""
        await self.flush()
        return await table.newest(self._store, caller.scope, limit)

    async def flush(self) -> None:
        async with self._flushing:
            taken, self._buffers = self._buffers, {}
            if not taken:
                return
            # The path and the request id come from the client: escaped as the console prints
            # them (one token, bounded, no NUL, which PostgreSQL refuses in text).
            rows = [
                Logged(*scope, method, printable_path(path), status, printable(request_id), at_ms)
                for scope, entries in taken.items()
                for method, path, status, request_id, at_ms in entries
            ]
            rows.sort(key=lambda row: row.at_ms)
            unit: list[Write] = table.insert(rows)
            unit += [table.prune(scope, self._keep) for scope in taken]
            try:
                await self._store.run(unit)
            except Exception:
                self._put_back(taken)
                raise

    def _put_back(self, taken: dict[tuple[str, str], deque[Entry]]) -> None:
        """Entries that could not be written go back before the newer ones, still bounded."""
        for scope, entries in taken.items():
            newer = self._buffers.get(scope, ())
            self._buffers[scope] = deque([*entries, *newer], maxlen=self._keep)

    async def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        try:
            await self.flush()
        except Exception as exc:  # the database is gone: these few lines are lost, nothing else
            log.warning("recent requests: the last ones could not be written: %s", type(exc).__name__)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_every)
            try:
                await self.flush()
            except StoreUnavailable:  # logged by the store; written once it is back
                pass
            except Exception as exc:
                log.warning("recent requests: writing them failed: %s", type(exc).__name__)
