"""The PostgreSQL store's pool takes connections back without asyncpg's reset query (one round
trip after every read and unit): that holds only while nothing the store does outlives its
transaction. These tests hold it to that: whatever units, numberings, failures and
abandoned transactions came before, every connection the pool hands out is as a new one."""

from __future__ import annotations

import asyncio

import asyncpg

from komoju_server.store import Conflict, Write, open_store
from komoju_server.store.base import Appends
from komoju_server.store.postgres import PostgresStore

TABLE = "CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"
POOL_SIZE = 4


async def session_state(store: PostgresStore) -> list[tuple[str, str, int, bool]]:
    """For every connection of the pool at once: its synchronous_commit, its transaction's
    isolation, the advisory locks it holds, and whether it is in a transaction."""
    pool = store._pool
    assert pool is not None
    connections = [await pool.acquire() for _ in range(POOL_SIZE)]
    try:
        found = []
        for conn in connections:
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
        for conn in connections:
            await pool.release(conn)


def test_connections_come_back_to_the_pool_as_new(postgres_url: str):
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
        store._sizes = (0, POOL_SIZE)
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
            # A connection given back in the middle of a transaction (a task cancelled mid-unit).
            pool = store._pool
            assert pool is not None
            conn = await pool.acquire()
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO things (id, n) VALUES ('abandoned', 1)")
            await pool.release(conn)

            assert await session_state(store) == [("on", "read committed", 0, False)] * POOL_SIZE
            assert await store.fetch_one("SELECT COUNT(*) FROM things WHERE id = 'abandoned'") == (0,)
            assert await store.fetch_one("SELECT COUNT(*) FROM things") == (20,)
        finally:
            await store.close()

    asyncio.run(scenario())
