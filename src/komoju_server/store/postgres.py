"""PostgreSQL through an asyncpg pool: many server processes can share one database."""

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
from komoju_server.store.base import Row, Write, check

_RETRIES = 5
# Serializes migrations across processes starting at once.
_MIGRATION_LOCK = 0x6B6F6D6F6A75


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """`?` placeholders to asyncpg's `$1, $2, ...` (our SQL has no `?` inside literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresStore:
    kind = "postgres"

    def __init__(self, url: str, min_size: int = 2, max_size: int = 10) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._sizes = (min_size, max_size)

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(self.url, min_size=self._sizes[0], max_size=self._sizes[1])

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        assert self._pool is not None
        row = await self._pool.fetchrow(translate(sql), *params)
        return None if row is None else tuple(row)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._pool is not None
        return [tuple(row) for row in await self._pool.fetch(translate(sql), *params)]

    async def run(self, unit: Sequence[Write]) -> list[int]:
        # A unit is only statements, so when PostgreSQL aborts it to break a deadlock between
        # two units (or a serialization failure), running it again from the start is safe.
        for attempt in range(_RETRIES):
            try:
                return await self._run_once(unit)
            except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError):
                if attempt == _RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
        raise AssertionError("unreachable")

    async def _run_once(self, unit: Sequence[Write]) -> list[int]:
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            counts = []
            for write in unit:
                rows = _rowcount(await conn.execute(translate(write.sql), *write.params))
                check(write, rows)
                counts.append(rows)
            return counts

    async def migrate(self, upto: int | None = None) -> list[int]:
        conn = await asyncpg.connect(self.url)
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
