"""The merchant's sandbox clock as two server processes over one database see it: a process
without a cache (PostgreSQL's, where other processes and hosts write) reads a move made by
another at once; with the one-process cache (SQLite's) it sees its own moves at once."""

from __future__ import annotations

from komoju_server.domain.caller import Caller
from komoju_server.services import merchants
from komoju_server.services.clock import Clock
from komoju_server.store import Conflict, Store, Write
from tests.support import with_store


def test_a_move_by_another_process_is_read_at_once_without_a_cache(database_url):
    async def scenario(store: Store) -> None:
        merchant = await merchants.create_merchant(store, "clock")
        here, there = Clock(store, cache_seconds=0.0), Clock(store, cache_seconds=0.0)
        assert await here.offset(merchant.merchant_id) == 0
        await store.run([there.advance(merchant.merchant_id, 3600)])
        assert await here.offset(merchant.merchant_id) == 3600
        assert await here.now(Caller(merchant.merchant_id, "test", "secret")) - await there.now(
            Caller(merchant.merchant_id, "test", "secret")
        ) in (0, -1)

    with_store(database_url, scenario)


def test_the_one_process_cache_forgets_its_own_moves_and_keeps_reads_for_a_second(database_url):
    async def scenario(store: Store) -> None:
        merchant = await merchants.create_merchant(store, "clock")
        cached, other = Clock(store), Clock(store, cache_seconds=0.0)
        assert await cached.offset(merchant.merchant_id) == 0
        await store.run([cached.advance(merchant.merchant_id, 60)])
        assert await cached.offset(merchant.merchant_id) == 60  # its own move: forgotten at once
        await store.run([other.advance(merchant.merchant_id, 60)])
        assert await cached.offset(merchant.merchant_id) == 60  # kept for a second: only SQLite uses it, one process
        assert await other.offset(merchant.merchant_id) == 120

    with_store(database_url, scenario)


def test_a_write_takes_the_offset_read_before_and_holds_on_it_where_processes_share_the_database(database_url):
    async def scenario(store: Store) -> None:
        merchant = await merchants.create_merchant(store, "clock")
        test, live = Caller(merchant.merchant_id, "test", "secret"), Caller(merchant.merchant_id, "live", "secret")
        alone, shared, other = Clock(store), Clock(store, cache_seconds=0.0, shared=True), Clock(store)
        assert (await alone.now_for_write(test))[1] == []  # one process: no condition
        assert (await shared.now_for_write(live))[1] == []  # live time has no offset
        _, held = await shared.now_for_write(test)
        assert [(w.sql, w.params, w.expect, w.condition) for w in held] == [
            ("SELECT 1 FROM merchants WHERE id = ? AND clock_offset = ?", (merchant.merchant_id, 0), 1, True)
        ]
        await store.run([other.advance(merchant.merchant_id, 60)])
        # Not read again: the offset read before, and the condition that finds it changed.
        now, held = await shared.now_for_write(test)
        assert held[0].params == (merchant.merchant_id, 0)
        try:
            await store.run(held)
        except Conflict as conflict:
            assert shared.forget_if_moved(test, conflict, held)
        else:
            raise AssertionError("the condition held on a moved clock")
        # Moved is forgotten: the next write reads the clock again.
        now, held = await shared.now_for_write(test)
        assert held[0].params == (merchant.merchant_id, 60)
        assert await store.run(held) == [1]
        # Another write's conflict is not the clock's: what was read is kept.
        await store.run([other.advance(merchant.merchant_id, 60)])
        assert not shared.forget_if_moved(test, Conflict(Write("UPDATE payments SET status = 'x'"), 0), held)
        assert (await shared.now_for_write(test))[1][0].params == (merchant.merchant_id, 60)

    with_store(database_url, scenario)
