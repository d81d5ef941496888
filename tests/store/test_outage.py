"""The store when its database cannot be reached: the real drivers' errors become
`StoreUnavailable`, a unit cut off is not written, bugs keep their own errors, the outage is
logged once when it starts and once when it ends, and the store recovers by itself.

PostgreSQL is reached through a TCP proxy the test cuts; SQLite's database directory is moved
away under an open store, or never existed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

import asyncpg
import pytest

from komoju_server.store import StoreUnavailable, Write
from komoju_server.store.postgres import PostgresStore
from komoju_server.store.sqlite import SqliteStore
from tests.proxy import TcpProxy, target_of, via

TABLE = "CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"
FAST = 1.0  # seconds: an operation during an outage fails at least this fast


def insert(key: str) -> Write:
    return Write("INSERT INTO things (id, n) VALUES (?, ?)", (key, 1), expect=1)


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage() or " is back " in r.getMessage()]


async def timed_failure(operation) -> tuple[StoreUnavailable, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as failure:
        await operation
    return failure.value, time.monotonic() - started


def test_postgres_store_through_a_cut_proxy(postgres_url: str, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, "komoju_server")
    proxy = TcpProxy(target_of(postgres_url)).start()

    async def scenario() -> None:
        store = PostgresStore(via(postgres_url, proxy))
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE)])
            await store.run([insert("before")])

            proxy.cut()
            for operation in (
                store.fetch_all("SELECT id FROM things"),
                store.fetch_one("SELECT id FROM things WHERE id = ?", ("before",)),
                store.run([insert("during")]),
                store.ping(),
            ):
                error, seconds = await timed_failure(operation)
                assert seconds < FAST
                assert str(error).startswith("PostgreSQL unavailable: ")

            proxy.restore()
            await store.ping()
            await store.run([insert("after")])
            assert await store.fetch_all("SELECT id FROM things ORDER BY id") == [("after",), ("before",)]
            # A bug is still a bug, not an outage.
            with pytest.raises(asyncpg.exceptions.PostgresSyntaxError):
                await store.fetch_one("SELEC 1")
        finally:
            await store.close()
            proxy.close()

    asyncio.run(scenario())
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("PostgreSQL unavailable (") and lines[0].endswith("answering 503 until it is back")
    assert lines[1].startswith("PostgreSQL is back after ")


def test_postgres_unit_cut_off_midway_is_not_written(postgres_url: str):
    proxy = TcpProxy(target_of(postgres_url)).start()

    async def scenario() -> None:
        store = PostgresStore(via(postgres_url, proxy))
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE)])
            # The first statement is done when the connection is cut during the second.
            unit = store.run([insert("half"), Write("SELECT pg_sleep(1)")])
            task = asyncio.ensure_future(unit)
            await asyncio.sleep(0.4)
            proxy.cut()
            with pytest.raises(StoreUnavailable):
                await task
            proxy.restore()
            await asyncio.sleep(1.0)  # the server has noticed its client is gone by now
            assert await store.fetch_all("SELECT id FROM things") == []
        finally:
            await store.close()
            proxy.close()

    asyncio.run(scenario())


def test_sqlite_directory_moved_away_fails_writes_until_it_is_back(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, "komoju_server")
    home = tmp_path / "db"
    home.mkdir()
    away = tmp_path / "elsewhere"

    async def scenario() -> None:
        store = SqliteStore(str(home / "komoju.db"))
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE)])
            await store.run([insert("before")])
            await store.ping()

            home.rename(away)
            error, seconds = await timed_failure(store.run([insert("during")]))
            assert seconds < FAST
            assert str(error).startswith("SQLite database unavailable: DatabaseMoved: ")
            await timed_failure(store.ping())

            away.rename(home)
            await store.ping()  # a probe write goes through
            await store.run([insert("after")])
            assert await store.fetch_all("SELECT id FROM things ORDER BY id") == [("after",), ("before",)]
        finally:
            await store.close()

    asyncio.run(scenario())
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("SQLite database unavailable (DatabaseMoved: ")
    assert lines[1].startswith("SQLite database is back after ")


def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path):
    async def scenario() -> None:
        store = SqliteStore(str(tmp_path / "removed" / "komoju.db"))
        with pytest.raises(StoreUnavailable) as failure:
            await store.open()
        assert str(failure.value) == "SQLite database unavailable: OperationalError: unable to open database file"
        assert isinstance(failure.value.__cause__, sqlite3.OperationalError)
        assert failure.value.__cause__.sqlite_errorcode == sqlite3.SQLITE_CANTOPEN

    asyncio.run(scenario())


def test_sqlite_sql_errors_stay_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, "komoju_server")

    async def scenario() -> None:
        store = SqliteStore(str(tmp_path / "komoju.db"))
        await store.migrate()
        await store.open()
        try:
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await store.fetch_one("SELECT * FROM nothing_here")
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await store.run([Write("INSERT INTO things VALUES (1)")])
            await store.ping()
        finally:
            await store.close()

    asyncio.run(scenario())
    assert outage_lines(caplog) == []
