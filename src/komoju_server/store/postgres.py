"""PostgreSQL through asyncpg: many server processes can share one database.

Reaching the database is bounded: a new connection gets `CONNECT_TIMEOUT` seconds, waiting
for one when all are lent `ACQUIRE_TIMEOUT` (store/connections.py). A refused, reset or
timed-out connection, or PostgreSQL shutting down, raises `StoreUnavailable`; dead connections
are dropped and new ones opened on demand, so once the database is back the next request
works. A unit of work cut off this way rolled back whole, except when the connection was
lost while COMMIT was in flight: then it is in doubt (all of it or none of it is written),
and still never acknowledged.

Rows appended to a list (payments, events) are inserted unnumbered and numbered after their
unit commits, by `Numbering`, so that one merchant's writers never queue on its list's
counter (store/listing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from komoju_server.store import migrations
from komoju_server.store.base import Appends, Listeners, Outage, Row, Write, check
from komoju_server.store.connections import Connections

_RETRIES = 5
CONNECT_TIMEOUT = 2.0  # seconds to open a connection
ACQUIRE_TIMEOUT = 5.0  # seconds to wait for a connection when all are lent
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
NUMBER_LIST = "SELECT number_list($1, $2, $3)"
# How long closing the store waits for the last numbering (what is left is numbered later).
_NUMBERING_GRACE = 5.0

log = logging.getLogger("komoju_server")


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


def _params(write: Write) -> Sequence[Any]:
    # An appended row is inserted unnumbered, and numbered after its commit.
    return write.params if write.appends is None else (*write.params, None)


def _as_one_statement(unit: Sequence[Write]) -> bool:
    """Whether `unit` can run as one statement of WITH queries: one round trip, where a
    transaction takes one per statement and two more for BEGIN and COMMIT.

    In one statement every write sees the database as it was before the statement, while in a
    transaction each sees the writes before it. So the two agree when no write reads a table an
    earlier one writes, and a table that a write updates or deletes from is written by no other
    write. An upsert (`INSERT ... ON CONFLICT`) counts as an update of its table. Counts are
    checked inside the statement (`_combined`): an update's, a delete's or an upsert's `expect`
    (rows inserted or updated, as PostgreSQL counts them for the upsert alone), a condition's.
    An insert of one row of VALUES inserts that row or fails, and an `INSERT ... SELECT` must
    have no count to check. RETURNING is never part of one; neither is anything else (DDL, say)."""
    written: set[str] = set()
    changed: set[str] = set()  # updated or deleted from
    for write in unit:
        if write.condition:
            if write.expect is None or _tables_read(write.sql) & written:
                return False
            continue
        shape = _write_shape(write.sql)
        if shape is None:
            return False
        kind, table, reads, one_row = shape
        if reads & written or table in changed:
            return False
        if kind == "insert":
            if write.expect not in (None, 1) or (write.expect == 1 and not one_row):
                return False
        elif table in written:
            return False
        else:
            changed.add(table)
        written.add(table)
    return bool(written)


@lru_cache(maxsize=1024)
def _tables_read(sql: str) -> frozenset[str]:
    return frozenset(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql.upper()))


@lru_cache(maxsize=1024)  # a unit's statements are a few constant texts, asked about on every write
def _write_shape(sql: str) -> tuple[str, str, frozenset[str], bool] | None:
    """For an insert, an update, a delete or an upsert: "insert" or "change" (an update, a delete,
    an upsert), the table it writes, the tables it reads (an `INSERT ... SELECT`, a subquery),
    and whether it inserts exactly one row of VALUES. None for anything else (a RETURNING, DDL)."""
    upper = sql.upper()
    if "RETURNING" in upper:
        return None
    words = upper.split(None, 3)
    if "ON CONFLICT" in upper:
        upsert = upper.startswith("INSERT INTO ")
        return ("change", words[2].split("(")[0], _tables_read(sql), False) if upsert else None
    if upper.startswith("INSERT INTO "):
        reads = _tables_read(sql)
        return "insert", words[2].split("(")[0], reads, not reads and "), (" not in upper
    if upper.startswith("UPDATE ") and len(words) > 2 and words[2] == "SET":
        return "change", words[1], _tables_read(sql), False
    if upper.startswith("DELETE FROM ") and len(words) > 3:
        return "change", words[2], _tables_read(words[3]), False
    return None


@lru_cache(maxsize=256)
def _combined(statements: tuple[tuple[str, bool, int | None], ...]) -> str:
    """The writes as one statement of WITH queries, answering each one's row count. Each is
    `(sql, whether it writes, the count it must have or None)`. A count not met divides by
    zero, which aborts the statement: nothing is written, and no row is locked to hold a
    condition."""
    queries, counts = [], []
    for i, (sql, writes, expect) in enumerate(statements):
        queries.append(f"w{i} AS ({sql} RETURNING 1)" if writes else f"w{i} AS ({sql})")
        if expect is None:
            counts.append(f"(SELECT COUNT(*) FROM w{i})")
        else:
            # Not constant, so not folded while planning: it divides only when it runs.
            counts.append(f"(SELECT COUNT(*) / (COUNT(*) = {int(expect)})::int FROM w{i})")
    return translate(f"WITH {', '.join(queries)} SELECT {', '.join(counts)}")


def _one_statement(unit: Sequence[Write]) -> tuple[str, list[Any]]:
    params: list[Any] = []
    statements = []
    for write in unit:
        params.extend(_params(write))
        if write.condition:
            statements.append((write.sql, False, write.expect))
        else:  # an insert's count needs no check (see `_as_one_statement`)
            shape = _write_shape(write.sql)
            statements.append((write.sql, True, write.expect if shape and shape[0] == "change" else None))
    return _combined(tuple(statements)), params


async def _in_transaction(conn: asyncpg.Connection, unit: Sequence[Write]) -> list[int]:
    async with conn.transaction():
        counts = []
        for write in unit:
            rows = _rowcount(await conn.execute(translate(write.sql), *_params(write)))
            check(write, rows)
            counts.append(rows)
        return counts


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresStore:
    kind = "postgres"

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url = url
        self._connections: Connections | None = None  # opened on demand, at most max_size
        self._max_size = max_size
        self.outage = Outage("PostgreSQL")
        self.listeners = Listeners()  # told once a unit committed (`Write.wakes`)
        self.numbering = Numbering(self)

    async def open(self) -> None:
        self._connections = Connections(self._connect, self._max_size, ACQUIRE_TIMEOUT)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)

    async def close(self) -> None:
        await self.numbering.finish(_NUMBERING_GRACE)
        if self._connections is not None:
            await self._connections.close()
            self._connections = None

    def _raise_if_unreachable(self, exc: Exception) -> None:
        """Raises `StoreUnavailable` from `exc` when it means the database cannot be reached."""
        if unreachable(exc):
            raise self.outage.lost(_CHANNEL, exc) from exc

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        assert self._connections is not None
        try:
            async with self._connections.lend() as conn:
                row = await conn.fetchrow(translate(sql), *params)
        except Exception as exc:
            self._raise_if_unreachable(exc)
            raise
        self.outage.ok(_CHANNEL)
        return None if row is None else tuple(row)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._connections is not None
        try:
            async with self._connections.lend() as conn:
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
            self.listeners.committed(unit, counts)
            return counts
        raise AssertionError("unreachable")

    async def _run_once(self, unit: Sequence[Write]) -> list[int]:
        assert self._connections is not None
        appended = [write.appends for write in unit if write.appends is not None]
        async with self._connections.lend() as conn:
            counts = None
            if _as_one_statement(unit):
                # A single statement is atomic and, committed, durable by itself.
                sql, params = _one_statement(unit)
                with contextlib.suppress(asyncpg.exceptions.DivisionByZeroError):
                    counts = list(await conn.fetchrow(sql, *params))
                # Else a count was not met and nothing was written: the unit runs again below,
                # statement by statement, which tells the Conflict of the write that fails
                # (or, should the database have changed since, writes it).
            if counts is None:
                counts = await _in_transaction(conn, unit)
        if appended:
            self.numbering.due(appended)
        return counts

    async def number(self, lists: Appends) -> int:
        """Numbers the tail of one list, in a short transaction of its own (the database's
        `number_list`, store/migrations.py); returns how many rows it numbered. Processes
        numbering the same list take turns on its counter row."""
        assert self._connections is not None
        async with self._connections.lend() as conn:
            return int(await conn.fetchval(NUMBER_LIST, lists.table, lists.merchant_id, lists.mode))

    async def migrate(self, upto: int | None = None) -> list[int]:
        conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await conn.execute(migrations.CREATE_LEDGER)
                applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                done = []
                for version, _name, statements in migrations.pending(applied, upto):
                    for statement in migrations.rendered(statements, self.kind):
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, int(time.time())
                    )
                    done.append(version)
            return done
        finally:
            await conn.close()


class Numbering:
    """Numbers the lists that units appended to, once those units committed: in the background,
    one list at a time, each list as many times as it was appended to since its last numbering
    began (so a row that committed while its list was being numbered is numbered next)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._due: dict[Appends, None] = {}  # an ordered set
        self._task: asyncio.Task[None] | None = None

    def due(self, lists: Sequence[Appends]) -> None:
        self._due.update(dict.fromkeys(lists))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._due:
            lists = next(iter(self._due))
            del self._due[lists]
            for attempt in range(_RETRIES):
                try:
                    await self._store.number(lists)
                    break
                except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError):
                    await asyncio.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
                except Exception as exc:  # the database is away: the rows stay in the tail, still listed
                    log.warning("numbering %s left for later: %s", lists.table, type(exc).__name__)
                    break

    async def finish(self, timeout: float) -> None:
        """Waits (at most `timeout` seconds) for the numbering under way."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
