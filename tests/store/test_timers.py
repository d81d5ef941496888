"""The timers and idempotency_keys tables on SQLite and PostgreSQL: real-time due moments from
each merchant's sandbox offset, shifting on clock advances, and conditional claims."""

from __future__ import annotations

import pytest

from komoju_server.store import Conflict, Store, Write, timers
from komoju_server.store import idempotency as keys
from komoju_server.store.merchants import insert_merchant
from tests.support import with_store

run = with_store


async def due_at(store: Store, ref_id: str) -> int:
    row = await store.fetch_one("SELECT due_at FROM timers WHERE ref_id = ?", (ref_id,))
    assert row is not None
    return int(row[0])


def test_due_moments_are_real_time_and_follow_clock_advances(database_url: str):
    async def scenario(store: Store) -> None:
        await store.run(
            [
                insert_merchant("ahead", "ahead", 0),
                insert_merchant("plain", "plain", 0),
                Write("UPDATE merchants SET clock_offset = 1000 WHERE id = 'ahead'"),
            ]
        )
        await store.run(
            [
                timers.set_("k", "a-test", "ahead", "test", 5000),
                timers.set_("k", "a-live", "ahead", "live", 5000),
                timers.set_("k", "p-test", "plain", "test", 4500),
            ]
        )
        assert [await due_at(store, r) for r in ("a-test", "a-live", "p-test")] == [4000, 5000, 4500]
        assert [t.ref_id for t in await timers.due(store, 4500, 10)] == ["a-test", "p-test"]
        assert await timers.next_due_at(store) == 4000

        # The merchant's clock jumps 600 s: its test timers come due 600 s sooner, nothing else.
        await store.run([Write("UPDATE merchants SET clock_offset = 1600 WHERE id = 'ahead'"), timers.resync("ahead")])
        assert [await due_at(store, r) for r in ("a-test", "a-live", "p-test")] == [3400, 5000, 4500]
        await store.run([timers.resync("ahead")])  # and again: nothing moves twice
        assert await due_at(store, "a-test") == 3400
        await store.run([timers.set_("k", "a-test", "ahead", "test", 6000)])
        assert await due_at(store, "a-test") == 4400

        first = await timers.first_due_for(store, ("plain", "test"), 4500)
        assert first is not None and (first.ref_id, first.fire_at) == ("p-test", 4500)
        assert await timers.first_due_for(store, ("plain", "test"), 4499) is None

        # Moving and dropping a fired timer hold only while nobody moved it meanwhile.
        stale = first
        await store.run([timers.set_("k", "p-test", "plain", "test", 9000)])
        assert (await store.run([timers.done(stale)])) == [0]
        assert (await store.run([timers.moved(stale, 9999)])) == [0]
        fresh = await timers.first_due_for(store, ("plain", "test"), 9000)
        assert fresh is not None
        assert (await store.run([timers.moved(fresh, 9500)])) == [1]
        assert await due_at(store, "p-test") == 9500
        assert (await store.run(timers.erase("plain", "test"))) == [1]

    run(database_url, scenario)


def test_an_idempotency_key_is_claimed_once_and_changed_only_by_its_holder(database_url: str):
    async def scenario(store: Store) -> None:
        scope = ("m", "test")
        await store.run([keys.claim(scope, "k", "one", "f", 100, 160, 86_500)])
        with pytest.raises(Conflict):
            await store.run([keys.claim(scope, "k", "two", "f", 101, 161, 86_501)])
        await store.run([keys.claim(("m", "live"), "k", "three", "f", 100, 160, 86_500)])  # its own scope
        with pytest.raises(Conflict):
            await store.run([keys.take_over(scope, "k", "nobody", "two", "g", 200, 260, 86_600)])
        await store.run([keys.answer(scope, "k", "one", 201, b'{"ok":true}')])
        held = await keys.get(store, scope, "k")
        assert held is not None
        assert (held.owner, held.status, held.body, held.lease_until) == ("one", 201, b'{"ok":true}', None)
        await store.run([keys.take_over(scope, "k", "one", "two", "g", 200, 260, 86_600)])
        taken = await keys.get(store, scope, "k")
        assert taken is not None and (taken.owner, taken.fingerprint, taken.status, taken.body) == (
            "two",
            "g",
            None,
            None,
        )
        assert (await store.run([keys.release(scope, "k", "one")])) == [0]
        assert (await store.run([keys.purge(86_550)])) == [1]  # the live one, older
        assert await keys.get(store, ("m", "live"), "k") is None
        assert (await store.run([keys.release(scope, "k", "two")])) == [1]

    run(database_url, scenario)
