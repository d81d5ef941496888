"""SQLite, the embedded default: WAL, synchronous=FULL, and group commit.

One writer thread owns the only write connection. It takes every unit of work waiting in
its queue, runs each inside its own SAVEPOINT (a failing unit rolls back alone), and makes
them all durable with one COMMIT, one fsync, before any of their callers hears back. Reads
use a separate connection on the event loop's thread: WAL gives them the last committed
state without waiting for the writer.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from komoju_server.store import migrations
from komoju_server.store.base import Conflict, Row, Write, check

_MAX_BATCH = 512
_STOP = object()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class _Job:
    __slots__ = ("unit", "future", "loop")

    def __init__(self, unit: Sequence[Write], future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.unit = unit
        self.future = future
        self.loop = loop


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None

    # -- life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        self._wconn = _connect(self.path)
        self._rconn = _connect(self.path)
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()

    async def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
            self._writer = None
        for conn in (self._wconn, self._rconn):
            if conn is not None:
                conn.close()
        self._wconn = self._rconn = None

    # -- reads ----------------------------------------------------------------------------

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        assert self._rconn is not None
        return self._rconn.execute(sql, params).fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._rconn is not None
        return self._rconn.execute(sql, params).fetchall()

    # -- writes ---------------------------------------------------------------------------

    async def run(self, unit: Sequence[Write]) -> list[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.put(_Job(unit, future, loop))
        return await future

    def _write_loop(self) -> None:
        conn = self._wconn
        assert conn is not None
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(conn, batch)
            if stop:
                return

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, bool]]
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:  # alone in its transaction, a unit needs no savepoint of its own
                outcomes = [(batch[0], _apply(conn, batch[0].unit), True)]
            else:
                outcomes = [_apply_in_savepoint(conn, job) for job in batch]
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(job, exc, False) for job in batch]
        # One wake-up per event loop for the whole batch, not one per unit: each wake-up is a
        # write to the loop's self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any, bool]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    # -- schema ---------------------------------------------------------------------------

    async def migrate(self, upto: int | None = None) -> list[int]:
        conn = _connect(self.path)
        try:
            conn.execute(migrations.CREATE_LEDGER)
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            done = []
            for version, _name, statements in migrations.pending(applied, upto):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in statements:
                        conn.execute(migrations.render(statement, self.kind))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, int(time.time()))
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                done.append(version)
            return done
        finally:
            conn.close()


def _apply(conn: sqlite3.Connection, unit: Sequence[Write]) -> list[int]:
    counts = []
    for write in unit:
        rows = conn.execute(write.sql, write.params).rowcount
        check(write, rows)
        counts.append(rows)
    return counts


def _apply_in_savepoint(conn: sqlite3.Connection, job: _Job) -> tuple[_Job, Any, bool]:
    """Runs a unit that shares its transaction: a failure rolls back this unit alone."""
    conn.execute("SAVEPOINT unit")
    try:
        counts = _apply(conn, job.unit)
    except Exception as exc:
        conn.execute("ROLLBACK TO unit")
        conn.execute("RELEASE unit")
        return job, exc, False
    conn.execute("RELEASE unit")
    return job, counts, True


def _settle_all(outcomes: list[tuple[_Job, Any, bool]]) -> None:
    for job, value, ok in outcomes:
        if job.future.cancelled():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


__all__ = ["SqliteStore", "Conflict"]
