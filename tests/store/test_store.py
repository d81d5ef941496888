"""The store's contract, held against SQLite and PostgreSQL alike: units are atomic, a failing
unit rolls back alone even inside a shared group commit, and conditional writes race safely."""

from __future__ import annotations

import asyncio

from komoju_server.store import Conflict, Write, open_store
from komoju_server.store.base import condition

TABLE = "CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"


def run(coro):  # pytest-asyncio is not a dependency: drive the loop ourselves
    return asyncio.run(coro)


def test_units_are_atomic_and_fail_alone(database_url: str):
    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE)])
            good = [
                store.run([Write("INSERT INTO things (id, n) VALUES (?, ?)", (f"g{i}", i), expect=1)])
                for i in range(50)
            ]
            # The second statement touches no row, so the whole unit (its insert too) must vanish.
            bad = [
                store.run(
                    [
                        Write("INSERT INTO things (id, n) VALUES (?, ?)", (f"b{i}", i), expect=1),
                        Write("UPDATE things SET n = 0 WHERE id = ?", ("absent",), expect=1, label="bad"),
                    ]
                )
                for i in range(50)
            ]
            results = await asyncio.gather(*good, *bad, return_exceptions=True)
            assert all(r == [1] for r in results[:50])
            assert all(isinstance(r, Conflict) and r.write.label == "bad" for r in results[50:])
            rows = await store.fetch_all("SELECT id FROM things ORDER BY id")
            assert sorted(r[0] for r in rows) == sorted(f"g{i}" for i in range(50))
        finally:
            await store.close()

    run(scenario())


def test_conditional_updates_let_exactly_one_racer_win(database_url: str):
    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE), Write("INSERT INTO things (id, n) VALUES ('x', 0)")])
            racers = [
                store.run([Write("UPDATE things SET n = ? WHERE id = 'x' AND n = 0", (i + 1,), expect=1)])
                for i in range(20)
            ]
            results = await asyncio.gather(*racers, return_exceptions=True)
            assert sum(1 for r in results if r == [1]) == 1
            assert sum(1 for r in results if isinstance(r, Conflict)) == 19
        finally:
            await store.close()

    run(scenario())


def test_migrations_upgrade_an_older_database_in_place(database_url: str):
    async def scenario() -> None:
        store = open_store(database_url)
        assert await store.migrate(upto=1) == [1]
        await store.open()
        try:
            await store.run([Write("INSERT INTO merchants (id, name, created_at) VALUES ('m1', 'old', 1)")])
        finally:
            await store.close()
        assert await store.migrate() == sorted(_known_versions() - {1})
        assert await store.migrate() == []
        await store.open()
        try:
            assert await store.fetch_one("SELECT name FROM merchants WHERE id = 'm1'") == ("old",)
            versions = await store.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
            assert [v[0] for v in versions] == sorted(_known_versions())
        finally:
            await store.close()

    run(scenario())


def _known_versions() -> set[int]:
    from komoju_server.store.migrations import MIGRATIONS

    return {m[0] for m in MIGRATIONS}


def test_a_deadlocked_unit_is_run_again_on_postgres(postgres_url: str):
    """Two units taking the same two rows in opposite orders: PostgreSQL aborts one to break
    the deadlock, and the store runs it again, so both succeed."""

    async def scenario() -> None:
        store = open_store(postgres_url)
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE), Write("INSERT INTO things (id, n) VALUES ('a', 0), ('b', 0)")])
            hold = "SELECT pg_sleep(0.2)"

            def unit(first: str, second: str) -> list[Write]:
                return [
                    Write("UPDATE things SET n = n + 1 WHERE id = ?", (first,), expect=1),
                    Write(hold),
                    Write("UPDATE things SET n = n + 1 WHERE id = ?", (second,), expect=1),
                ]

            results = await asyncio.gather(store.run(unit("a", "b")), store.run(unit("b", "a")))
            assert results == [[1, 1, 1], [1, 1, 1]]
            assert await store.fetch_all("SELECT id, n FROM things ORDER BY id") == [("a", 2), ("b", 2)]
        finally:
            await store.close()

    run(scenario())


def test_attempts_recorded_before_say_only_could_not_connect_after_the_migration(database_url: str):
    """Errors that told a refused connection from a timeout (an open port from a closed one)
    are rewritten to what new attempts say; answers, interruptions and unreadable secrets stay."""
    rows = [
        ("d1", 1, "failed", None, "ConnectError: [Errno 111] Connection refused"),
        ("d1", 2, "failed", None, "no answer within 10s"),
        ("d1", 3, "failed", None, "not sent: ConnectError: [Errno 111] Connection refused (0.2 s ago)"),
        ("d1", 4, "failed", 500, "answered HTTP 500"),
        ("d1", 5, "interrupted", None, "the server stopped during the attempt"),
        ("d1", 6, "failed", None, "not sent: the webhook's secret token does not open with this server's vault key"),
        ("d1", 7, "succeeded", 200, None),
        ("d1", 8, "failed", None, "RemoteProtocolError: Server disconnected without sending a response."),
    ]
    expected = [
        "could not connect",
        "could not connect",
        "not sent: could not connect",
        "answered HTTP 500",
        "the server stopped during the attempt",
        "not sent: the webhook's secret token does not open with this server's vault key",
        None,
        "could not connect",
    ]

    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate(upto=10)
        await store.open()
        try:
            await store.run(
                [
                    Write(
                        "INSERT INTO webhook_attempts (delivery_id, number, status, response_code, error, started_at)"
                        " VALUES (?, ?, ?, ?, ?, 1)",
                        row,
                    )
                    for row in rows
                ]
            )
        finally:
            await store.close()
        assert await store.migrate(upto=11) == [11]
        await store.open()
        try:
            found = await store.fetch_all("SELECT error FROM webhook_attempts ORDER BY number")
            assert [row[0] for row in found] == expected
        finally:
            await store.close()

    run(scenario())


def test_a_unit_is_one_statement_when_its_writes_see_alike_and_all_or_nothing_on_postgres(postgres_url: str):
    """PostgreSQL runs a unit as one statement (one round trip) when running its writes at once
    gives what running them in turn would: still all or nothing, a later write that fails takes
    the earlier ones with it, and a count not met is the Conflict of the write that missed it."""
    from komoju_server.store.postgres import _as_one_statement

    insert = "INSERT INTO things (id, n) VALUES (?, ?)"
    note = "INSERT INTO copies (id, n) VALUES (?, ?)"
    copy = "INSERT INTO copies (id, n) SELECT id, n FROM things WHERE id = ?"
    bump = Write("UPDATE things SET n = n + 1 WHERE id = ?", ("x",), expect=1, label="bump")
    drop = Write("DELETE FROM copies WHERE id = ?", ("c",))
    assert _as_one_statement([Write(insert, ("a", 1), expect=1), Write(insert, ("b", 2), expect=1)])
    assert _as_one_statement([Write(note, ("c", 1), expect=1), Write(copy, ("z",))])  # reads no table the unit writes
    assert _as_one_statement([bump, Write(note, ("c", 1), expect=1)])
    assert _as_one_statement([drop, bump])
    assert _as_one_statement([Write(copy, ("x",)), bump])  # the copy reads `things` before it is bumped
    # An upsert goes along as an update of its table.
    upsert = Write(insert + " ON CONFLICT (id) DO UPDATE SET n = excluded.n", ("x", 9), expect=1, label="upsert")
    assert _as_one_statement([Write(note, ("c", 1), expect=1), upsert])
    assert _as_one_statement([Write(insert + " ON CONFLICT DO NOTHING", ("a", 1), expect=1)])
    assert not _as_one_statement([upsert, upsert])
    assert not _as_one_statement([upsert, Write(copy, ("x",))])
    assert not _as_one_statement([Write(insert, ("a", 1), expect=1), upsert])
    # Not one: a table updated and written again (or read after), a RETURNING, a read of a table
    # an earlier write writes, a count to check on an INSERT ... SELECT, several rows of VALUES.
    assert not _as_one_statement([Write(insert, ("a", 1), expect=1), Write("UPDATE things SET n = 0", expect=1)])
    assert not _as_one_statement([bump, Write(insert, ("a", 1), expect=1)])
    assert not _as_one_statement([bump, bump])
    assert not _as_one_statement([bump, Write(copy, ("x",))])
    assert not _as_one_statement([Write(insert + " ON CONFLICT (id) DO UPDATE SET n = 0 RETURNING id", ("a", 1))])
    assert not _as_one_statement([Write("UPDATE things SET n = 0 RETURNING id")])
    assert not _as_one_statement([Write(insert, ("a", 1), expect=1), Write(copy, ("a",))])
    assert not _as_one_statement([Write(copy, ("a",), expect=1)])
    two_rows = "INSERT INTO things (id, n) VALUES (?, ?), (?, ?)"
    assert not _as_one_statement([Write(two_rows, ("a", 1, "b", 2), expect=2)])
    # A condition goes along, if it reads no table an earlier write writes.
    held = condition("SELECT 1 FROM copies WHERE id = ?", ("c",), "held")
    assert _as_one_statement([Write(insert, ("a", 1), expect=1), held])
    assert _as_one_statement([Write(insert, ("a", 1), expect=1), held, held])
    assert not _as_one_statement([held])  # nothing to write
    assert not _as_one_statement([Write(note, ("d", 1), expect=1), held])

    async def scenario() -> None:
        store = open_store(postgres_url)
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE), Write("CREATE TABLE copies (id TEXT PRIMARY KEY, n INTEGER NOT NULL)")])
            await store.run([Write(insert, ("x", 1), expect=1)])
            assert await store.run([Write(note, ("c", 7), expect=1), Write(copy, ("x",))]) == [1, 1]
            assert await store.run([Write(insert, ("a", 1), expect=1), Write(insert, ("z", 2), expect=1)]) == [1, 1]
            try:
                await store.run([Write(insert, ("b", 2), expect=1), Write(insert, ("x", 3), expect=1)])
            except Exception as exc:
                assert type(exc).__name__ == "UniqueViolationError"
            else:
                raise AssertionError("a duplicate id was inserted")
            assert await store.fetch_all("SELECT id, n FROM things ORDER BY id") == [("a", 1), ("x", 1), ("z", 2)]
            # A unit whose copy reads the row it just made still sees it (run statement by statement).
            await store.run([Write(insert, ("y", 5), expect=1), Write(copy, ("y",))])
            assert await store.fetch_all("SELECT id, n FROM copies ORDER BY id") == [("c", 7), ("x", 1), ("y", 5)]
            # Updates and deletes, counted in the statement: the copy reads `things` as it was.
            bump_z = Write("UPDATE things SET n = n + 1 WHERE id = ?", ("z",), expect=1)
            snapshot = [Write(copy, ("z",)), bump_z]
            assert _as_one_statement(snapshot)
            assert await store.run(snapshot) == [1, 1]
            assert await store.run([drop]) == [1]
            assert await store.fetch_all("SELECT id, n FROM copies ORDER BY id") == [("x", 1), ("y", 5), ("z", 2)]
            assert await store.fetch_all("SELECT id, n FROM things ORDER BY id") == [
                ("a", 1),
                ("x", 1),
                ("y", 5),
                ("z", 3),
            ]
            # An upsert in the statement: it updates a row that exists, counted; one that finds
            # its row and does nothing misses its count, and takes the unit's other writes with it.
            assert await store.run([Write(note, ("u", 4), expect=1), upsert]) == [1, 1]
            assert await store.fetch_one("SELECT n FROM things WHERE id = 'x'") == (9,)
            nothing = Write(insert + " ON CONFLICT DO NOTHING", ("x", 1), expect=1, label="nothing")
            try:
                await store.run([Write(note, ("v", 4), expect=1), nothing])
            except Conflict as conflict:
                assert (conflict.write.label, conflict.rows) == ("nothing", 0)
            else:
                raise AssertionError("an upsert that did nothing met its count")
            assert await store.fetch_one("SELECT COUNT(*) FROM copies WHERE id = 'v'") == (0,)
            await store.run([Write("UPDATE things SET n = 1 WHERE id = 'x'", expect=1)])
            await store.run([Write("DELETE FROM copies WHERE id = 'u'", expect=1)])
            # A count not met: nothing of the unit is written, and the Conflict names the write.
            missing = Write("UPDATE things SET n = 0 WHERE id = ?", ("nobody",), expect=1, label="missing")
            for unit in ([Write(note, ("new", 1), expect=1), missing], [bump, missing], [missing, bump]):
                try:
                    await store.run(unit)
                except Conflict as conflict:
                    assert (conflict.write.label, conflict.rows) == ("missing", 0)
                else:
                    raise AssertionError("a unit was written with a count it did not meet")
            assert await store.fetch_one("SELECT n FROM things WHERE id = 'x'") == (1,)
            assert await store.fetch_one("SELECT COUNT(*) FROM copies WHERE id = 'new'") == (0,)
        finally:
            await store.close()

    run(scenario())


def test_a_unit_holding_on_a_condition_is_written_only_while_it_holds(database_url: str):
    """A condition (a query that must find its rows) lets a unit rely on a value read before:
    when another unit changed it meanwhile, nothing of the unit is written and Conflict names
    the condition. On PostgreSQL the inserts and the condition are one statement."""

    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        try:
            await store.run([Write(TABLE), Write("INSERT INTO things (id, n) VALUES ('clock', 60)")])
            insert = "INSERT INTO things (id, n) VALUES (?, ?)"
            clock_is = "SELECT 1 FROM things WHERE id = 'clock' AND n = ?"
            assert await store.run([Write(insert, ("a", 1), expect=1), condition(clock_is, (60,), "clock")]) == [1, 1]
            await store.run([Write("UPDATE things SET n = 120 WHERE id = 'clock'", expect=1)])
            stale = [Write(insert, ("b", 2), expect=1), Write(insert, ("c", 3), expect=1)]
            try:
                await store.run([*stale, condition(clock_is, (60,), "clock")])
            except Conflict as conflict:
                assert (conflict.write.label, conflict.rows) == ("clock", 0)
            else:
                raise AssertionError("a unit was written on a condition that no longer held")
            # The same in a transaction (an update makes it more than inserts), and in a shared batch.
            moves = Write("UPDATE things SET n = n + 1 WHERE id = 'a'", expect=1)
            results = await asyncio.gather(
                store.run([moves, condition(clock_is, (60,), "clock")]),
                store.run([Write(insert, ("d", 4), expect=1), condition(clock_is, (120,), "clock")]),
                return_exceptions=True,
            )
            assert isinstance(results[0], Conflict) and results[0].write.label == "clock"
            assert results[1] == [1, 1]
            rows = await store.fetch_all("SELECT id, n FROM things ORDER BY id")
            assert rows == [("a", 1), ("clock", 120), ("d", 4)]
        finally:
            await store.close()

    run(scenario())


def test_listeners_hear_of_a_wakes_statement_once_its_unit_committed_and_only_if_it_touched_rows(database_url: str):
    """What wakes the webhook worker: after the commit, never for a unit that failed or a
    statement that touched nothing (an event no endpoint wants), once per unit and name."""

    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        heard: list[str] = []
        store.listeners.add("things", lambda: heard.append("things"))
        store.listeners.add("other", lambda: heard.append("other"))
        try:
            await store.run([Write(TABLE)])
            insert = "INSERT INTO things (id, n) VALUES (?, ?)"
            copy = "INSERT INTO things (id, n) SELECT id || '2', n FROM things WHERE id = ?"
            woken = [Write(insert, ("a", 1), expect=1, wakes="things"), Write(insert, ("b", 2), wakes="things")]
            assert await store.run(woken) == [1, 1]
            assert heard == ["things"]
            assert await store.run([Write(copy, ("nobody",), wakes="things")]) == [0]  # touched nothing
            failing = [
                Write(insert, ("c", 3), expect=1, wakes="things"),
                Write("UPDATE things SET n = 0 WHERE id = ?", ("absent",), expect=1, label="absent"),
            ]
            try:
                await store.run(failing)
            except Conflict:
                pass
            else:
                raise AssertionError("the unit should have failed")
            assert heard == ["things"]
            assert await store.run([Write(copy, ("a",), wakes="things")]) == [1]
            assert heard == ["things", "things"]
        finally:
            await store.close()

    run(scenario())
