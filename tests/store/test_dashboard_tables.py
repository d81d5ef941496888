"""The dashboard's tables on both databases: events found by what they are about (old events
too, after the migration), dashboard sessions (expiry, the key they signed in with), and the
recent-requests log (pruned to the newest rows of each merchant), with the service that
batches it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest

from komoju_server.domain.caller import Caller
from komoju_server.services.merchants import KeyRing, create_merchant
from komoju_server.services.recent_requests import RecentRequests
from komoju_server.store import Store, StoreUnavailable, Write, events, open_store, request_log
from komoju_server.store import dashboard_sessions as sessions
from komoju_server.store.merchants import key_digest
from tests.support import with_store


def run(coro):
    return asyncio.run(coro)


def test_events_from_before_the_migration_are_found_by_their_subject(database_url):
    async def scenario() -> None:
        store = open_store(database_url)
        await store.migrate(upto=5)
        await store.open()
        try:
            for number, (event_id, subject) in enumerate((("e1", "pay1"), ("e2", "cus1"), ("e3", "pay1"))):
                doc = {"id": event_id, "type": "payment.captured", "data": {"id": subject}}
                await store.run(
                    [
                        Write(
                            "INSERT INTO events (id, merchant_id, mode, type, created_at, pos, doc)"
                            " VALUES (?, 'm', 'test', 'x', 0, ?, ?)",
                            (event_id, number + 1, orjson.dumps(doc).decode()),
                        )
                    ]
                )
            await store.migrate()
            found = await events.about(store, ("m", "test"), "pay1", 10)
            assert [e["id"] for e in found] == ["e1", "e3"]
            assert await events.about(store, ("other", "test"), "pay1", 10) == []
            assert [e["id"] for e in await events.about(store, ("m", "test"), "pay1", 1)] == ["e3"]  # the newest
        finally:
            await store.close()

    run(scenario())


def test_a_new_event_is_found_by_its_subject_and_a_ping_by_its_webhook(database_url):
    async def scenario(store: Store) -> None:
        for event_id, data in (("e1", {"id": "hook1", "resource": "webhook"}), ("e2", {"no": "id"})):
            event = {"id": event_id, "type": "ping", "data": data}
            await store.run(events.insert(event, "m", "test", 0))
        assert [e["id"] for e in await events.about(store, ("m", "test"), "hook1", 10)] == ["e1"]
        assert events.subject({"id": "e", "data": {"id": 5}}) is None

    with_store(database_url, scenario)


def test_a_session_lasts_until_it_expires_and_while_its_key_exists(database_url):
    async def scenario(store: Store) -> None:
        made = await create_merchant(store, "m")
        key = made.keys[("secret", "test")]
        await store.run(
            [
                sessions.insert("live", key_digest(key), made.merchant_id, "test", 100, 200),
                sessions.insert("old", key_digest(key), made.merchant_id, "test", 100, 150),
                sessions.insert("nokey", key_digest("sk_test_gone"), made.merchant_id, "test", 100, 200),
            ]
        )
        found = await sessions.find(store, "live", 160)
        assert found == sessions.SessionRow(made.merchant_id, "test", "secret", 200)
        assert await sessions.find(store, "old", 160) is None
        assert await sessions.find(store, "old", 149) is not None
        assert await sessions.find(store, "nokey", 160) is None
        assert await store.run([sessions.purge(160)]) == [1]
        assert await store.fetch_all("SELECT id_hash FROM dashboard_sessions ORDER BY id_hash") == [
            ("live",),
            ("nokey",),
        ]

    with_store(database_url, scenario)


def logged(scope: tuple[str, str], n: int) -> request_log.Logged:
    return request_log.Logged(*scope, "GET", f"/api/v1/payments/{n}", 200, f"req{n}", 1000 + n)


def test_the_log_keeps_the_newest_rows_of_each_merchant(database_url):
    async def scenario(store: Store) -> None:
        mine, theirs = ("m1", "test"), ("m2", "test")
        rows = [logged(mine, n) for n in range(250)] + [logged(theirs, n) for n in range(3)]
        await store.run([*request_log.insert(rows), request_log.prune(mine, 100), request_log.prune(theirs, 100)])
        newest = await request_log.newest(store, mine)
        assert [r.request_id for r in newest] == [f"req{n}" for n in range(249, 149, -1)]
        assert len(await request_log.newest(store, theirs)) == 3
        assert await request_log.newest(store, ("m1", "live")) == []

    with_store(database_url, scenario)


class Failing:
    """A store whose writes fail while `down` (the database unreachable)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False
        self.units: list[Sequence[Write]] = []

    async def run(self, unit: Sequence[Write]) -> list[int]:
        if self.down:
            raise StoreUnavailable("down")
        self.units.append(unit)
        return await self.store.run(unit)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def test_the_recorder_writes_at_most_keep_rows_a_merchant_and_keeps_them_through_an_outage(sqlite_url):
    async def scenario(store: Store) -> None:
        failing = Failing(store)
        recent = RecentRequests(failing, keep=5)  # type: ignore[arg-type]
        me, other = Caller("m1", "test", "secret"), Caller("m2", "live", "secret")
        for n in range(12):
            recent.record(me, "POST", f"/api/v1/payments/{n}", 200, f"r{n}")
        recent.record(other, "GET", "/api/v1/payments", 401, "o1")
        failing.down = True
        with pytest.raises(StoreUnavailable):
            await recent.flush()
        recent.record(me, "GET", "/api/v1/events", 200, "r12")
        failing.down = False
        newest = await recent.newest(me)
        assert [(r.method, r.path, r.request_id) for r in newest] == [
            ("GET", "/api/v1/events", "r12"),
            *[("POST", f"/api/v1/payments/{n}", f"r{n}") for n in (11, 10, 9, 8)],
        ]
        (unit,) = failing.units
        inserted = unit[0].params
        assert len(inserted) == 7 * 6  # the 5 newest of m1 (of 13 recorded), 1 of m2: nothing more written
        assert [r.request_id for r in await recent.newest(other)] == ["o1"]

    with_store(sqlite_url, scenario)


def test_the_recorder_flushes_in_the_background_and_on_stop(sqlite_url):
    async def scenario(store: Store) -> None:
        recent = RecentRequests(store, flush_every=0.01)
        me = Caller("m1", "test", "secret")
        await recent.start()
        recent.record(me, "GET", "/api/v1/payments", 200, "r1")
        for _ in range(200):
            if await request_log.newest(store, me.scope):
                break
            await asyncio.sleep(0.01)
        assert [r.request_id for r in await request_log.newest(store, me.scope)] == ["r1"]
        recent.record(me, "GET", "/api/v1/payments", 200, "r2")
        await recent.stop()
        assert [r.request_id for r in await request_log.newest(store, me.scope)] == ["r2", "r1"]

    with_store(sqlite_url, scenario)


def test_the_keyring_is_what_signs_in(sqlite_url):
    """The sessions service checks keys through the KeyRing, as the API does."""
    from komoju_server.domain.errors import ApiError
    from komoju_server.services.dashboard_sessions import DashboardSessions

    async def scenario(store: Store) -> None:
        made = await create_merchant(store, "m")
        service = DashboardSessions(store, KeyRing(store), lifetime=60)
        value, caller = await service.sign_in(" " + made.keys[("secret", "live")] + " ")
        assert caller == Caller(made.merchant_id, "live", "secret")
        assert await service.caller(value) == caller
        for wrong, code in (("sk_test_nope", "unauthorized"), (made.keys[("publishable", "test")], "forbidden")):
            with pytest.raises(ApiError) as refused:
                await service.sign_in(wrong)
            assert refused.value.code == code
        await service.sign_out(value)
        assert await service.caller(value) is None
        assert await service.caller("x" * 101) is None

    with_store(sqlite_url, scenario)
