"""The outbox's SQL (store/webhooks.py) on SQLite and PostgreSQL: which endpoints a fanout
reaches, and claims that never hand one delivery to two workers and never lose one."""

from __future__ import annotations

import asyncio
import re

from komoju_server.domain import ids
from komoju_server.domain.webhook import Endpoint
from komoju_server.services.events import build
from komoju_server.store import Store
from komoju_server.store import events as events_table
from komoju_server.store import webhooks as table
from tests.support import with_store

SCOPE = ("merchant0000000000000000a", "test")
LEASE = 60_000


run = with_store


async def endpoint(store: Store, events: tuple[str, ...] | None = None, scope=SCOPE) -> Endpoint:
    hook = Endpoint(ids.new_id(), scope[0], scope[1], f"http://127.0.0.1:9/{ids.new_id()}", events, 1)
    await store.run([table.insert_endpoint(hook, b"sealed")])
    return hook


async def event(store: Store, event_type: str = "payment.captured", scope=SCOPE) -> dict:
    body = build(event_type, {"id": ids.new_id()}, 1)
    await store.run(events_table.insert(body, scope[0], scope[1], 1))
    return body


async def fanout(store: Store, body: dict, scope=SCOPE, due_ms: int = 1000, only: str | None = None) -> None:
    await store.run([table.fanout_to_endpoints(ids.new_id(), body["id"], body["type"], scope, 1, due_ms, only)])


async def rows(store: Store) -> list[tuple]:
    return await store.fetch_all(
        "SELECT id, endpoint_id, event_type, status, attempts, claim FROM webhook_deliveries ORDER BY seq"
    )


def test_a_fanout_reaches_each_live_subscribed_endpoint_of_the_scope_once(database_url):
    async def scenario(store: Store) -> None:
        every = await endpoint(store)
        captured = await endpoint(store, ("payment.captured", "payment.refunded"))
        refunds = await endpoint(store, ("payment.refund.created",))  # not "payment.refunded"
        await endpoint(store, ("subscription.captured",))  # a type ending alike
        gone = await endpoint(store)
        await store.run(table.delete_endpoint(SCOPE, gone.id, 2))
        await endpoint(store, scope=(SCOPE[0], "live"))
        await endpoint(store, scope=("merchant0000000000000000b", "test"))
        await fanout(store, await event(store, "payment.captured"))
        await fanout(store, await event(store, "payment.refunded"))
        found = await rows(store)
        assert sorted((r[1], r[2]) for r in found) == sorted(
            [
                (every.id, "payment.captured"),
                (captured.id, "payment.captured"),
                (every.id, "payment.refunded"),
                (captured.id, "payment.refunded"),
            ]
        )
        assert refunds.id not in {r[1] for r in found}
        assert all(re.fullmatch(r"[0-9a-z]{25}", r[0]) for r in found)
        assert len({r[0] for r in found}) == 4
        assert {(r[3], r[4], r[5]) for r in found} == {("pending", 0, None)}

    run(database_url, scenario)


def test_a_ping_goes_to_its_endpoint_alone_and_never_to_a_deleted_one(database_url):
    async def scenario(store: Store) -> None:
        pinged = await endpoint(store, ("payment.captured",))
        other = await endpoint(store)
        ping = await event(store, "ping")
        await fanout(store, ping, only=pinged.id)
        await store.run(table.delete_endpoint(SCOPE, other.id, 2))
        await fanout(store, ping, only=other.id)
        assert [(r[1], r[2]) for r in await rows(store)] == [(pinged.id, "ping")]

    run(database_url, scenario)


def test_claims_hand_each_due_delivery_to_one_claimer_and_open_an_attempt(database_url):
    async def scenario(store: Store) -> None:
        for _ in range(3):
            await endpoint(store)
        for _ in range(10):
            await fanout(store, await event(store), due_ms=1000)
        await fanout(store, await event(store), due_ms=5000)  # not due yet
        tokens = [ids.new_id() for _ in range(8)]
        await asyncio.gather(*(store.run(table.claim(store.kind, t, 2000, 2000 + LEASE, 5)) for t in tokens))
        claimed = {t: [c.id for c in await table.claimed(store, t)] for t in tokens}
        everything = [d for ds in claimed.values() for d in ds]
        assert len(everything) == len(set(everything)) == 30  # none twice, none of the 3 not due
        assert all(len(ds) <= 5 for ds in claimed.values())
        attempts = await store.fetch_all("SELECT delivery_id, number, status FROM webhook_attempts")
        assert sorted(attempts) == sorted((d, 1, "sending") for d in everything)
        assert await table.next_due(store) == 5000  # the claimed ones are due only when their lease ends

    run(database_url, scenario)


def test_a_dead_claimers_delivery_comes_back_when_the_lease_ends_its_attempt_marked_interrupted(database_url):
    async def scenario(store: Store) -> None:
        hook = await endpoint(store)
        await fanout(store, await event(store))
        dead, alive = ids.new_id(), ids.new_id()
        await store.run(table.claim(store.kind, dead, 2000, 2000 + LEASE, 10))
        (first,) = await table.claimed(store, dead)
        assert (first.attempt, first.endpoint_id, first.sealed_secret) == (1, hook.id, b"sealed")
        await store.run(table.claim(store.kind, alive, 2000 + LEASE - 1, 2000 + 2 * LEASE, 10))
        assert await table.claimed(store, alive) == []  # the lease still holds
        await store.run(table.claim(store.kind, alive, 2000 + LEASE, 2000 + 2 * LEASE, 10))
        (second,) = await table.claimed(store, alive)
        assert (second.id, second.attempt) == (first.id, 2)
        # The dead claimer's late answer does not count: its token is no longer the claim.
        await store.run([table.succeed(first.id, dead)])
        await store.run(
            [table.record_attempt(second.id, 2, "succeeded", 200, None, 3), table.succeed(second.id, alive)]
        )
        attempts = await store.fetch_all(
            "SELECT number, status, response_code, error FROM webhook_attempts ORDER BY number"
        )
        assert attempts == [
            (1, "interrupted", None, "the server stopped before the answer was recorded"),
            (2, "succeeded", 200, None),
        ]
        assert [(r[3], r[4], r[5]) for r in await rows(store)] == [("succeeded", 2, None)]
        assert await table.next_due(store) is None

    run(database_url, scenario)


def test_retry_give_up_and_release(database_url):
    async def scenario(store: Store) -> None:
        await endpoint(store)
        for _ in range(3):
            await fanout(store, await event(store))
        token = ids.new_id()
        await store.run(table.claim(store.kind, token, 2000, 2000 + LEASE, 10))
        retried, failed, released = await table.claimed(store, token)
        await store.run([table.retry_at(retried.id, token, 9000)])
        await store.run([table.give_up(failed.id, token)])
        await store.run(table.release(released.id, token, released.attempt, 3000))
        by_id = {r[0]: r for r in await rows(store)}
        assert (by_id[retried.id][3], by_id[retried.id][5]) == ("pending", None)
        assert by_id[failed.id][3] == "failed"
        assert (by_id[released.id][3], by_id[released.id][5]) == ("pending", None)
        assert await table.next_due(store) == 3000
        interrupted = await store.fetch_all(
            "SELECT status, error FROM webhook_attempts WHERE delivery_id = ?", (released.id,)
        )
        assert interrupted == [("interrupted", "the server stopped during the attempt")]

    run(database_url, scenario)


def test_deleting_an_endpoint_cancels_what_waits_for_it_but_not_what_is_under_way(database_url):
    async def scenario(store: Store) -> None:
        hook = await endpoint(store)
        for _ in range(2):
            await fanout(store, await event(store))
        token = ids.new_id()
        await store.run(table.claim(store.kind, token, 2000, 2000 + LEASE, 1))
        (under_way,) = await table.claimed(store, token)
        await store.run(table.delete_endpoint(SCOPE, hook.id, 3))
        statuses = {r[0]: r[3] for r in await rows(store)}
        assert statuses.pop(under_way.id) == "pending"
        assert list(statuses.values()) == ["cancelled"]
        # The worker finds the endpoint gone when it comes to send: cancelled, no attempt made.
        token2 = ids.new_id()
        await store.run(table.claim(store.kind, token2, 2000 + LEASE, 2000 + 2 * LEASE, 1))
        (again,) = await table.claimed(store, token2)
        assert again.endpoint_deleted
        await store.run(table.cancel_unsent(again.id, token2, again.attempt))
        assert {r[3] for r in await rows(store)} == {"cancelled"}
        assert await store.fetch_all("SELECT number, status FROM webhook_attempts") == [(1, "interrupted")]

    run(database_url, scenario)


def test_release_all_claims_makes_a_dead_process_deliveries_due_at_once(database_url):
    async def scenario(store: Store) -> None:
        await endpoint(store)
        await fanout(store, await event(store))
        await store.run(table.claim(store.kind, ids.new_id(), 2000, 2000 + LEASE, 1))
        assert await table.next_due(store) == 2000 + LEASE
        await store.run([table.release_all_claims(2500)])
        assert await table.next_due(store) == 2500

    run(database_url, scenario)
