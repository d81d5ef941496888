"""The PostgreSQL store's connections (store/connections.py), on the suite's real PostgreSQL.

Lending: at most `most` open, the rest wait (at most `wait` seconds) and are handed the next
connection given back or the place of one closed; a connection that may have something left
on it (a transaction, a cancelled statement) is closed, one that PostgreSQL or the store
refused a statement on is lent again; a connection closed while idle is never lent, one idle
too long is closed; closing closes them all. And, since connections come back without
asyncpg's reset query, whatever the store did before, every connection it lends is as new."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from komoju_server.store import Conflict, Write, open_store
from komoju_server.store.base import Appends
from komoju_server.store.connections import Closed, Connections
from komoju_server.store.postgres import PostgresStore

TABLE = "CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"
POOL_SIZE = 4

Scenario = Callable[[Connections, list[asyncpg.Connection]], Awaitable[None]]


def lending(
    postgres_url: str, scenario: Scenario, most: int = 2, wait: float = 5.0, idle_lifetime: float = 300.0
) -> None:
    """Runs `scenario` with connections to `postgres_url` and the list of every one opened."""

    async def main() -> None:
        opened: list[asyncpg.Connection] = []

        async def connect() -> asyncpg.Connection:
            conn = await asyncpg.connect(postgres_url)
            opened.append(conn)
            return conn

        connections = Connections(connect, most, wait, idle_lifetime)
        try:
            await scenario(connections, opened)
        finally:
            await connections.close()
        assert all(conn.is_closed() for conn in opened)

    asyncio.run(main())


async def backend(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT pg_backend_pid()"))


def test_the_connection_given_back_last_is_lent_again(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        async with connections.lend() as first:
            pid = await backend(first)
        for _ in range(3):
            async with connections.lend() as again:
                assert again is first and await backend(again) == pid
        assert (connections.open, connections.idle, len(opened)) == (1, 1, 1)

    lending(postgres_url, scenario)


def test_no_more_than_most_are_open_and_the_next_waits_for_one_given_back(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        first, second = await connections.take(), await connections.take()
        waiting = asyncio.ensure_future(connections.take())
        await asyncio.sleep(0.05)
        assert not waiting.done() and connections.open == 2
        connections.give_back(second)
        assert await waiting is second
        connections.give_back(first)
        connections.give_back(second)
        assert (connections.open, connections.idle, len(opened)) == (2, 2, 2)

    lending(postgres_url, scenario)


def test_waiting_too_long_times_out_and_takes_no_place(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        lent = [await connections.take(), await connections.take()]
        with pytest.raises(TimeoutError):
            await connections.take()
        cancelled = asyncio.ensure_future(connections.take())
        await asyncio.sleep(0.05)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        for conn in lent:
            connections.give_back(conn)
        assert (connections.open, connections.idle, len(opened)) == (2, 2, 2)

    lending(postgres_url, scenario, wait=0.2)


def test_a_connection_left_in_a_transaction_is_closed_and_its_place_goes_to_who_waits(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        creator = await connections.take()
        await creator.execute(TABLE)
        abandoned, other = await connections.take(), await connections.take()
        waiting = asyncio.ensure_future(connections.take())
        await abandoned.execute("BEGIN")
        await abandoned.execute("INSERT INTO things (id, n) VALUES ('abandoned', 1)")
        connections.give_back(abandoned)
        fresh = await waiting
        assert abandoned.is_closed() and fresh is not abandoned and fresh is not other
        assert await fresh.fetchval("SELECT COUNT(*) FROM things") == 0  # rolled back by PostgreSQL
        for conn in (creator, fresh, other):
            connections.give_back(conn)
        assert (connections.open, connections.idle, len(opened)) == (3, 3, 4)

    lending(postgres_url, scenario, most=3)


def test_a_cancelled_or_timed_out_statement_closes_its_connection(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        async def sleeps() -> None:
            async with connections.lend() as conn:
                await conn.execute("SELECT pg_sleep(10)")

        task = asyncio.ensure_future(sleeps())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert opened[0].is_closed() and connections.open == 0
        with pytest.raises(TimeoutError):
            async with connections.lend() as conn:
                assert conn is opened[1]
                await conn.execute("SELECT pg_sleep(10)", timeout=0.2)
        assert opened[1].is_closed() and connections.open == 0
        async with connections.lend() as conn:
            assert conn is opened[2] and await conn.fetchval("SELECT 1") == 1

    lending(postgres_url, scenario)


def test_a_connection_postgresql_or_the_store_refused_is_lent_again(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            async with connections.lend() as conn:
                await conn.fetchval("SELECT 1 / 0")
        with pytest.raises(Conflict):
            async with connections.lend() as conn:
                raise Conflict(Write("UPDATE things SET n = 1", expect=1, label="update thing"), 0)
        async with connections.lend() as conn:
            assert conn is opened[0] and await conn.fetchval("SELECT 1") == 1
        assert len(opened) == 1

    lending(postgres_url, scenario)


def test_a_connection_closed_while_idle_is_not_lent(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        async with connections.lend() as conn:
            pid = await backend(conn)
        admin = await asyncpg.connect(postgres_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        for _ in range(50):  # until asyncpg reads the server's goodbye
            if opened[0].is_closed():
                break
            await asyncio.sleep(0.02)
        async with connections.lend() as conn:
            assert conn is not opened[0] and await backend(conn) != pid
        assert (connections.open, len(opened)) == (1, 2)

    lending(postgres_url, scenario)


def test_a_connection_idle_too_long_is_closed(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        first, second = await connections.take(), await connections.take()
        connections.give_back(first)
        await asyncio.sleep(0.15)
        connections.give_back(second)
        await asyncio.sleep(0.2)  # first idle 0.35 s, second 0.2 s
        assert first.is_closed() and not second.is_closed()
        assert (connections.open, connections.idle) == (1, 1)
        await asyncio.sleep(0.2)
        assert second.is_closed() and (connections.open, connections.idle) == (0, 0)

    lending(postgres_url, scenario, idle_lifetime=0.3)


def test_closing_closes_idle_and_lent_connections_and_lends_no_more(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        idle, lent = await connections.take(), await connections.take()
        connections.give_back(idle)
        await connections.close()
        assert idle.is_closed() and not lent.is_closed()
        connections.give_back(lent)
        assert lent.is_closed() and connections.open == 0
        with pytest.raises(Closed):
            await connections.take()

    lending(postgres_url, scenario)


def test_closing_turns_away_who_waits(postgres_url: str):
    async def scenario(connections: Connections, opened: list[asyncpg.Connection]) -> None:
        lent = await connections.take()
        waiting = asyncio.ensure_future(connections.take())
        await asyncio.sleep(0.05)
        await connections.close()
        with pytest.raises(Closed):
            await waiting
        connections.give_back(lent)
        assert connections.open == 0

    lending(postgres_url, scenario, most=1)


# -- what the store leaves on a connection ---------------------------------------------------


async def session_state(store: PostgresStore) -> list[tuple[str, str, int, bool]]:
    """For every connection the store has at once: its synchronous_commit, its transaction's
    isolation, the advisory locks it holds, and whether it is in a transaction."""
    connections = store._connections
    assert connections is not None
    lent = [await connections.take() for _ in range(POOL_SIZE)]
    try:
        found = []
        for conn in lent:
            locks = await conn.fetchval(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            found.append(
                (
                    await conn.fetchval("SHOW synchronous_commit"),
                    await conn.fetchval("SHOW default_transaction_isolation"),
                    locks,
                    conn.is_in_transaction(),
                )
            )
        return found
    finally:
        for conn in lent:
            connections.give_back(conn)


def test_connections_come_back_to_the_store_as_new(postgres_url: str):
    async def scenario() -> None:
        # The suite's cluster commits with synchronous_commit off; this database's sessions
        # start with it on, so that a numbering's `off` would show if it outlived its transaction.
        admin = await asyncpg.connect(postgres_url)
        try:
            name = await admin.fetchval("SELECT current_database()")
            await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
        finally:
            await admin.close()
        store = open_store(postgres_url)
        assert isinstance(store, PostgresStore)
        store._max_size = POOL_SIZE
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE)])
            # Units side by side, some failing, and the numbering of a list (number_list turns
            # synchronous_commit off for its own transaction) on every connection.
            units = [
                store.run([Write("INSERT INTO things (id, n) VALUES (?, ?)", (f"t{i}", i), expect=1)])
                for i in range(20)
            ]
            units += [
                store.run([Write("UPDATE things SET n = 0 WHERE id = ?", ("absent",), expect=1, label="absent")])
                for _ in range(4)
            ]
            results = await asyncio.gather(*units, return_exceptions=True)
            assert [type(r).__name__ for r in results[20:]] == ["Conflict"] * 4
            assert all(not isinstance(r, Conflict | BaseException) for r in results[:20])
            lists = Appends("events", "merchant", "test")
            await asyncio.gather(*(store.number(lists) for _ in range(POOL_SIZE)))

            assert await session_state(store) == [("on", "read committed", 0, False)] * POOL_SIZE
            assert await store.fetch_one("SELECT COUNT(*) FROM things") == (20,)
        finally:
            await store.close()

    asyncio.run(scenario())
