"""PostgreSQL through an asyncpg pool: many server processes can share one database.

Reaching the database is bounded: a new connection gets `CONNECT_TIMEOUT` seconds, taking
one from the pool (connecting included) `ACQUIRE_TIMEOUT`. A refused, reset or timed-out
connection, or PostgreSQL shutting down, raises `StoreUnavailable`; the pool drops dead
connections and opens new ones on demand, so once the database is back the next request
works. A unit of work cut off this way rolled back whole, except when the connection was
lost while COMMIT was in flight: then it is in doubt (all of it or none of it is written),
and still never acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from komoju_server.store import migrations
from komoju_server.store.base import Outage, Row, Write, check

_RETRIES = 5
CONNECT_TIMEOUT = 2.0  # seconds to open a connection
ACQUIRE_TIMEOUT = 5.0  # seconds to get a connection from the pool, opening one included
_CHANNEL = "connection"
# The socket failing (refused, reset, timed out), or the server saying it cannot serve now
# (shutting down, starting up, out of connections).
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# Serializes migrations across processes starting at once.
_MIGRATION_LOCK = 0x6B6F6D6F6A75


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """`?` placeholders to asyncpg's `$1, $2, ...` (our SQL has no `?` inside literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (as opposed to a bug, a bad statement)."""
    if isinstance(exc, _UNREACHABLE):
        return True
    # asyncpg's own word for using a connection the server has closed.
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc)


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresStore:
    kind = "postgres"

    # min_size=0: a pool with a floor keeps reconnecting to it in the background, and logs a
    # traceback each time it fails (asyncpg's own warning); ours opens connections on demand.
    def __init__(self, url: str, min_size: int = 0, max_size: int = 10) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._sizes = (min_size, max_size)
        self.outage = Outage("PostgreSQL")

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=self._sizes[0], max_size=self._sizes[1], timeout=CONNECT_TIMEOUT
            )
        except Exception as exc:
            self._raise_if_unreachable(exc)
            raise

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _raise_if_unreachable(self, exc: Exception) -> None:
        """Raises `StoreUnavailable` from `exc` when it means the database cannot be reached."""
        if unreachable(exc):
            raise self.outage.lost(_CHANNEL, exc) from exc

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        assert self._pool is not None
        try:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                row = await conn.fetchrow(translate(sql), *params)
        except Exception as exc:
            self._raise_if_unreachable(exc)
            raise
        self.outage.ok(_CHANNEL)
        return None if row is None else tuple(row)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._pool is not None
        try:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                rows = await conn.fetch(translate(sql), *params)
        except Exception as exc:
            self._raise_if_unreachable(exc)
            raise
        self.outage.ok(_CHANNEL)
        return [tuple(row) for row in rows]

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1")

    async def run(self, unit: Sequence[Write]) -> list[int]:
        # A unit is only statements, so when PostgreSQL aborts it to break a deadlock between
        # two units (or a serialization failure), running it again from the start is safe.
        for attempt in range(_RETRIES):
            try:
                counts = await self._run_once(unit)
            except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
                continue
            except Exception as exc:
                # Never retried: a unit whose connection broke during COMMIT may have been written.
                self._raise_if_unreachable(exc)
                raise
            self.outage.ok(_CHANNEL)
            return counts
        raise AssertionError("unreachable")

    async def _run_once(self, unit: Sequence[Write]) -> list[int]:
        assert self._pool is not None
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn, conn.transaction():
            counts = []
            for write in unit:
                rows = _rowcount(await conn.execute(translate(write.sql), *write.params))
                check(write, rows)
                counts.append(rows)
            return counts

    async def migrate(self, upto: int | None = None) -> list[int]:
        conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await conn.execute(migrations.CREATE_LEDGER)
                applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                done = []
                for version, _name, statements in migrations.pending(applied, upto):
                    for statement in statements:
                        await conn.execute(migrations.render(statement, self.kind))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, int(time.time())
                    )
                    done.append(version)
            return done
        finally:
            await conn.close()
