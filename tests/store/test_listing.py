"""Append-only lists (payments, events): every committed row on exactly one page, newest
first, with an exact total, on both backends; and on PostgreSQL, rows listed before they are
numbered without moving when they are, and one merchant's writers never waiting for each
other's commits (store/listing.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from komoju_server.store import Write, listing, open_store
from komoju_server.store.base import Appends
from komoju_server.store.postgres import PostgresStore

MERCHANT = "m1"
SCOPE = (MERCHANT, "test")
PAYMENTS = Appends("payments", MERCHANT, "test")


def run(coro):  # pytest-asyncio is not a dependency: drive the loop ourselves
    return asyncio.run(coro)


def payment(payment_id: str, status: str = "captured") -> Write:
    return listing.appended(
        "payments",
        MERCHANT,
        "test",
        "INSERT INTO payments (id, merchant_id, mode, status, currency, created_at, version, doc, pos)"
        " VALUES (?, ?, 'test', ?, 'JPY', 0, 1, '{}', ?)",
        (payment_id, MERCHANT, status),
        label="insert payment",
    )


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Any]:
    store = open_store(url)
    await store.migrate()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def pages(store: Any, per_page: int, **filters: str) -> tuple[list[int], list[list[str]]]:
    """Every page of the payments list: the totals each page gave, and each page's ids."""
    conditions = [(f"{column} = ?", (value,)) for column, value in filters.items()]
    totals, found, number = [], [], 1
    while True:
        total, rows = await listing.page(store, "payments", SCOPE, conditions, number, per_page, "id", positioned=True)
        totals.append(total)
        if not rows:
            return totals, found
        found.append([row[0] for row in rows])
        number += 1


async def positions(store: Any) -> list[tuple[str, int | None]]:
    return await store.fetch_all("SELECT id, pos FROM payments ORDER BY seq")


def hold_numbering(store: PostgresStore) -> None:
    """Leaves every appended row unnumbered until the test numbers it."""
    store.numbering.due = lambda lists: None  # type: ignore[method-assign]


def test_every_row_is_on_exactly_one_page_newest_first(database_url: str):
    async def scenario() -> None:
        async with opened(database_url) as store:
            for i in range(23):
                await store.run([payment(f"p{i:02}")])
            newest_first = [f"p{i:02}" for i in reversed(range(23))]
            totals, found = await pages(store, 10)
            assert totals == [23, 23, 23, 23]
            assert found == [newest_first[:10], newest_first[10:20], newest_first[20:]]
            assert await listing.page(store, "payments", SCOPE, [], 10_000, 10, "id", positioned=True) == (23, [])
            assert await listing.page(store, "payments", ("m2", "test"), [], 1, 10, "id", positioned=True) == (0, [])

    run(scenario())


def test_rows_are_listed_before_they_are_numbered_and_keep_their_place_on_postgres(postgres_url: str):
    async def scenario() -> None:
        async with opened(postgres_url) as store:
            hold_numbering(store)
            for name in "abcde":
                await store.run([payment(name)])
            assert await positions(store) == [(name, None) for name in "abcde"]
            before = await pages(store, 2)
            assert before == ([5, 5, 5, 5], [["e", "d"], ["c", "b"], ["a"]])

            assert await store.number(PAYMENTS) == 5
            assert await positions(store) == [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]
            assert await pages(store, 2) == before

            # Three more, unnumbered, above the numbered five; a page can hold both kinds.
            for name in "fgh":
                await store.run([payment(name)])
            expected = ([8] * 5, [["h", "g"], ["f", "e"], ["d", "c"], ["b", "a"]])
            assert await pages(store, 2) == expected
            assert (await pages(store, 3))[1] == [["h", "g", "f"], ["e", "d", "c"], ["b", "a"]]
            assert await store.number(PAYMENTS) == 3
            assert await store.number(PAYMENTS) == 0
            assert await pages(store, 2) == expected
            assert await store.fetch_one(
                "SELECT n FROM list_positions WHERE merchant_id = ? AND mode = 'test' AND resource = 'payments'",
                (MERCHANT,),
            ) == (8,)

    run(scenario())


def test_a_filtered_list_shows_unnumbered_rows_first_on_postgres(postgres_url: str):
    async def scenario() -> None:
        async with opened(postgres_url) as store:
            hold_numbering(store)
            for name, status in (("a", "captured"), ("b", "failed"), ("c", "captured")):
                await store.run([payment(name, status)])
            await store.number(PAYMENTS)
            for name, status in (("d", "captured"), ("e", "failed"), ("f", "captured")):
                await store.run([payment(name, status)])
            assert await pages(store, 2, status="captured") == ([4, 4, 4], [["f", "d"], ["c", "a"]])

    run(scenario())


def test_one_merchants_writers_do_not_wait_for_each_others_commits_on_postgres(postgres_url: str):
    """A unit still in flight after appending a payment (here: sleeping 1 s before its commit)
    holds up no other unit of the same merchant; while payments took the next number from a
    counter row in their own unit, the second waited for the first's commit."""

    async def scenario() -> None:
        async with opened(postgres_url) as store:
            started = time.monotonic()
            slow = asyncio.create_task(store.run([payment("slow"), Write("SELECT pg_sleep(1)")]))
            await asyncio.sleep(0.2)
            await store.run([payment("quick")])
            quick_done = time.monotonic() - started
            await slow
            assert quick_done < 0.7, f"the second writer waited {quick_done:.2f} s for the first"
            await store.numbering.finish(5)
            assert await positions(store) == [("slow", 2), ("quick", 1)]
            assert (await pages(store, 10))[1] == [["slow", "quick"]]

    run(scenario())


def test_processes_appending_at_once_number_the_list_densely_on_postgres(postgres_url: str):
    """Two stores (as two server processes would) each append 150 payments, 10 at a time: once
    their numbering is done, the list is numbered 1 to 300 with no gap and no repeat, and its
    pages hold every payment once."""

    async def scenario() -> None:
        async with opened(postgres_url) as first, opened(postgres_url) as second:
            stores = [first, second]

            async def writer(store: Any, prefix: str) -> None:
                for batch in range(15):
                    await asyncio.gather(*(store.run([payment(f"{prefix}{batch:02}{i}")]) for i in range(10)))

            await asyncio.gather(*(writer(store, prefix) for store, prefix in zip(stores, "xy", strict=True)))
            for store in stores:
                await store.numbering.finish(10)
            numbered = await positions(stores[0])
            assert sorted(pos for _, pos in numbered) == list(range(1, 301))
            totals, found = await pages(stores[1], 25)
            assert set(totals) == {300}
            ids = [payment_id for page in found for payment_id in page]
            by_position = [payment_id for payment_id, _ in sorted(numbered, key=lambda row: -row[1])]
            assert ids == by_position

    run(scenario())


def test_units_that_fail_beside_others_leave_no_gap_in_the_numbers(database_url: str):
    """Units appending at once share transactions (SQLite's group commit); those that fail
    after their append take their numbers back with them."""

    async def scenario() -> None:
        async with opened(database_url) as store:
            failing = Write("UPDATE payments SET status = 'x' WHERE id = 'absent'", expect=1, label="fails")
            units = [[payment(f"g{i:02}")] if i % 3 else [payment(f"b{i:02}"), failing] for i in range(30)]
            await asyncio.gather(*(store.run(unit) for unit in units), return_exceptions=True)
            if isinstance(store, PostgresStore):
                await store.numbering.finish(5)
            numbered = await positions(store)
            assert sorted(payment_id for payment_id, _ in numbered) == [f"g{i:02}" for i in range(30) if i % 3]
            assert sorted(pos for _, pos in numbered) == list(range(1, 21))
            await store.run([payment("last")])
            if isinstance(store, PostgresStore):
                await store.numbering.finish(5)
            assert (await positions(store))[-1] == ("last", 21)

    run(scenario())


def test_a_reset_list_numbers_from_1_again(database_url: str):
    async def scenario() -> None:
        async with opened(database_url) as store:
            for name in "abc":
                await store.run([payment(name)])
            await store.run(
                [
                    Write("DELETE FROM payments WHERE merchant_id = ?", (MERCHANT,)),
                    listing.forget_positions(*SCOPE, "payments"),
                ]
            )
            for name in "de":
                await store.run([payment(name)])
            if isinstance(store, PostgresStore):
                await store.numbering.finish(5)
            assert await positions(store) == [("d", 1), ("e", 2)]
            assert await pages(store, 10) == ([2, 2], [["e", "d"]])

    run(scenario())


def test_sqlite_numbers_after_rows_another_connection_appended(sqlite_url: str):
    """The writer keeps the counters it moved; a row another connection wrote (a tool on the
    same file) makes it read them again rather than give a number twice."""

    async def scenario() -> None:
        async with opened(sqlite_url) as store:
            await store.run([payment("a")])
            other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
            other.execute(
                "INSERT INTO payments (id, merchant_id, mode, status, currency, created_at, version, doc, pos)"
                " VALUES ('b', ?, 'test', 'captured', 'JPY', 0, 1, '{}', 2)",
                (MERCHANT,),
            )
            other.execute(
                "UPDATE list_positions SET n = 2 WHERE merchant_id = ? AND resource = 'payments'", (MERCHANT,)
            )
            other.close()
            await store.run([payment("c")])
            assert await positions(store) == [("a", 1), ("b", 2), ("c", 3)]

    run(scenario())
