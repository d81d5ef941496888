"""Several hosts on one PostgreSQL, under load, through a host's SIGKILL and a restart of the
database.

Two `komoju-server serve` processes (separate ports, one database: a private cluster this test
makes, since it restarts it) share one merchant and one signed webhook URL, a receiver on
127.0.0.1. Four clients make payments for several seconds, each with its own idempotency key,
spread over the hosts; a client whose request fails (host gone, database restarting) sends
the same request, same key, to the other host until it is answered. Meanwhile host A is
SIGKILLed, PostgreSQL is restarted (immediate: a crash for the server, then WAL recovery) and
host A comes back on a new port. Then:

- every acknowledged payment is there, once: the list's total is the number of keys, and each
  id reads the same from both hosts;
- an idempotent request replays across hosts: the same key on the other host answers the
  same payment;
- the sandbox clock moved on one host reads the same on the other;
- every event of the merchant reached the receiver at least once, signed with the secret;
- no delivery was claimed twice at once: each arrival of a delivery at the receiver is one of
  its recorded attempts, and the attempts of one delivery never overlap in time.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.private_postgres import PrivateCluster
from tests.support import ServerProcess
from tests.webhooks.harness import Receiver, receiver

KEY, PUBLIC = "sk_test_" + secrets.token_hex(16), "pk_test_" + secrets.token_hex(16)
SECRET = "whsec_" + secrets.token_hex(8)
CLIENTS = 4
LOAD_SECONDS = 6.0
RETRY_FOR = 30.0  # seconds a client keeps retrying one request before the test fails
DETAILS = (
    {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030, "verification_value": "123"},
    {"type": "konbini", "store": "lawson", "email": "buyer@example.com"},
)


class Hosts:
    """The hosts by name; clients read the current ones (host A is replaced mid-run)."""

    def __init__(self, database_url: str, hook: str) -> None:
        self.database_url = database_url
        self.hook = hook
        self.lock = threading.Lock()
        self.up: dict[str, ServerProcess] = {}

    def start(self, name: str) -> ServerProcess:
        server = ServerProcess.start(
            self.database_url,
            secret_key=KEY,
            publishable_key=PUBLIC,
            extra=["--webhook-url", self.hook, "--webhook-secret", SECRET, "--webhook-timeout", "2"],
        )
        with self.lock:
            self.up[name] = server
        return server

    def kill(self, name: str) -> None:
        with self.lock:
            server = self.up.pop(name)
        server.stop(signal.SIGKILL)

    def urls(self) -> list[str]:
        with self.lock:
            return [server.url for server in self.up.values()]

    def stop_all(self) -> None:
        with self.lock:
            servers, self.up = list(self.up.values()), {}
        for server in servers:
            server.stop()


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    private = PrivateCluster()
    private.start()
    try:
        yield private
    finally:
        private.remove()


def _post_until_answered(hosts: Hosts, client: httpx.Client, n: int, body: dict[str, Any], key: str) -> dict | None:
    """POST /payments with `key` to one host after another until one answers 2xx; None when the
    key is held by a request that died with its host (409 until the claim's lease runs out)."""
    deadline = time.monotonic() + RETRY_FOR
    attempt = n
    while True:
        urls = hosts.urls()
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            answer = client.post(f"{url}/api/v1/payments", json=body, headers={"X-KOMOJU-IDEMPOTENCY": key})
            if answer.status_code in (200, 201, 202):
                return answer.json()
            if answer.status_code == 409:
                # The first request with this key was cut off (its host killed, or its database
                # gone) after it claimed the key: the claim holds for a minute (domain/idempotency.py)
                # and nothing of that request was written. A client tries again later; this
                # one moves on, and the key is counted as never acknowledged.
                assert answer.json()["error"]["code"] == "conflict", answer.text
                assert answer.headers["Retry-After"] == "1"
                return None
            # Otherwise only "try again" answers are expected: 503 while the database restarts.
            assert answer.status_code == 503, answer.text
        except httpx.TransportError:
            pass  # the host died under this request, or is gone: the same request elsewhere
        assert time.monotonic() < deadline, f"no host answered {key} for {RETRY_FOR} s"
        time.sleep(0.05)


def _load(hosts: Hosts, number: int, until: float, acknowledged: dict[str, dict], lock: threading.Lock) -> None:
    with httpx.Client(auth=(KEY, ""), timeout=10) as client:
        n = 0
        while time.monotonic() < until:
            key = f"c{number}-{n}"
            body = {"amount": 100 + n, "currency": "JPY", "payment_details": DETAILS[n % 2]}
            payment = _post_until_answered(hosts, client, number + n, body, key)
            if payment is not None:
                with lock:
                    acknowledged[key] = payment
            n += 1


async def _attempts(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch(
            "SELECT delivery_id, number, status, started_at, duration_ms FROM webhook_attempts "
            "ORDER BY delivery_id, number"
        )
    finally:
        await connection.close()


def _all_pages(client: httpx.Client, path: str) -> list[dict]:
    items: list[dict] = []
    page = 1
    while True:
        answer = client.get(path, params={"page": page, "per_page": 100})
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        items += data
        if not data:
            return items
        page += 1


def test_two_hosts_through_a_sigkill_and_a_database_restart(cluster: PrivateCluster) -> None:
    acknowledged: dict[str, dict] = {}
    lock = threading.Lock()
    with receiver() as box:
        hosts = Hosts(cluster.url, box.url("/hook", SECRET))
        try:
            hosts.start("A")
            hosts.start("B")
            started = time.monotonic()
            until = started + LOAD_SECONDS
            clients = [
                threading.Thread(target=_load, args=(hosts, number, until, acknowledged, lock))
                for number in range(CLIENTS)
            ]
            for client in clients:
                client.start()

            time.sleep(1.5)
            hosts.kill("A")  # mid-request, mid-delivery
            time.sleep(1.0)
            cluster.stop("immediate")  # PostgreSQL crashes under host B...
            time.sleep(0.5)
            cluster.start()  # ...and recovers from its WAL
            hosts.start("A")  # host A comes back (a new process, a new port)

            for client in clients:
                client.join(LOAD_SECONDS + RETRY_FOR + 10)
                assert not client.is_alive()
            _check_everything(hosts, box, cluster, acknowledged)
        finally:
            hosts.stop_all()


def _check_everything(hosts: Hosts, box: Receiver, cluster: PrivateCluster, acknowledged: dict[str, dict]) -> None:
    a, b = (httpx.Client(base_url=f"{url}/api/v1", auth=(KEY, ""), timeout=10) for url in hosts.urls())
    assert len(acknowledged) > 50, f"only {len(acknowledged)} payments in {LOAD_SECONDS} s"

    # Every acknowledged payment is there, once, the same from both hosts.
    ids = {payment["id"] for payment in acknowledged.values()}
    assert len(ids) == len(acknowledged)
    listed = a.get("/payments", params={"per_page": 1}).json()
    assert listed["total"] == len(acknowledged)
    for key, payment in list(acknowledged.items())[:: max(1, len(acknowledged) // 40)]:
        from_a, from_b = a.get(f"/payments/{payment['id']}").json(), b.get(f"/payments/{payment['id']}").json()
        assert from_a == from_b
        assert (from_a["amount"], from_a["status"]) == (payment["amount"], payment["status"]), key

    # An idempotent request replays across hosts: the same key elsewhere, the same payment.
    for key, payment in list(acknowledged.items())[:10]:
        number, n = (int(part) for part in key[1:].split("-"))
        body = {"amount": 100 + n, "currency": "JPY", "payment_details": DETAILS[n % 2]}
        for client in (a, b):
            replay = client.post("/payments", json=body, headers={"X-KOMOJU-IDEMPOTENCY": key})
            assert replay.status_code == 200, replay.text
            assert replay.json()["id"] == payment["id"]
    assert a.get("/payments", params={"per_page": 1}).json()["total"] == len(acknowledged)

    # The sandbox clock: moved on one host, read on the other.
    moved = b.post("/sandbox/clock/advance", json={"seconds": 3600})
    assert moved.status_code == 200 and moved.json()["offset"] == 3600
    assert a.get("/sandbox/clock").json()["offset"] == 3600

    # Every event reached the receiver, signed; deliveries of the killed host's lease included.
    events = _all_pages(a, "/events")
    wanted = {event["id"] for event in events}
    assert len(wanted) >= len(acknowledged)

    def all_delivered(got: list) -> bool:
        return wanted <= {r.event["id"] for r in got if 200 <= r.status < 300}

    got = box.wait_for(all_delivered, seconds=60)
    assert all(r.signed for r in got), "an unsigned or badly signed delivery"

    # No delivery claimed twice at once.
    attempts = asyncio.run(_attempts(cluster.url))
    by_delivery: dict[str, list[asyncpg.Record]] = {}
    for row in attempts:
        by_delivery.setdefault(row["delivery_id"], []).append(row)
    arrivals: dict[str, int] = {}
    for r in got:
        arrivals[r.delivery_id] = arrivals.get(r.delivery_id, 0) + 1
    for delivery_id, count in arrivals.items():
        assert count <= len(by_delivery.get(delivery_id, [])), f"{delivery_id} arrived more often than attempted"
    for delivery_id, rows in by_delivery.items():
        for earlier, later in zip(rows, rows[1:], strict=False):
            if earlier["duration_ms"] is not None:  # an attempt cut short by the SIGKILL has none
                assert later["started_at"] >= earlier["started_at"] + earlier["duration_ms"], delivery_id
