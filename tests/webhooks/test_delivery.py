"""The delivery worker against servers of the tests' own (for their settings): retries on a
schedule, giving up, timeouts, --webhook-url, crashes and restarts, shutdown, and several
processes sharing one PostgreSQL database. Real processes where the process matters (what it
prints, another process creating a merchant, signals, restarts); in process otherwise.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.payment_support import card, created, konbini
from tests.support import server_env
from tests.webhooks.harness import fresh_database, new_keys, own_app, own_server, receiver

SECRET = "delivery-test-secret"
FAST = ["--webhook-retry-schedule", "0.2s,0.2s,0.2s", "--webhook-retry-jitter", "0"]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def webhook(client, url: str, secret: str = SECRET) -> dict:
    response = client.post("/webhooks", json={"url": url, "secret_token": secret})
    assert response.status_code == 200, response.text
    return response.json()


def deliveries(client, webhook_id: str) -> list[dict]:
    response = client.get(f"/webhooks/{webhook_id}/deliveries", params={"per_page": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def wait_deliveries(client, webhook_id: str, check, seconds: float = 30) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        found = deliveries(client, webhook_id)
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries never got there: {found}")
        time.sleep(0.05)


def shape(attempts: list[dict]) -> list[tuple]:
    return [(a["number"], a["status"], a["response_code"], a["error"]) for a in attempts]


def test_a_failing_receiver_is_retried_on_the_schedule_and_every_attempt_is_kept(database):
    with receiver() as rx, own_server(database, FAST) as server, server.client(server.secret_key) as api:
        hook = webhook(api, rx.url("/flaky", SECRET))
        rx.wait_events("/flaky", ["ping"])
        rx.fail_next(2)
        created(api, card())
        rx.wait_events("/flaky", ["payment.captured"])
        got = [g for g in rx.received("/flaky") if g.event["type"] == "payment.captured"]
        assert [g.status for g in got] == [500, 500, 200]
        assert len({g.delivery_id for g in got}) == 1  # one delivery, tried three times
        assert all(g.signed for g in got)
        assert got[0].body == got[1].body == got[2].body
        delivery = wait_deliveries(api, hook["id"], lambda ds: ds[0]["status"] == "succeeded")[0]
        assert delivery["id"] == got[0].delivery_id
        assert shape(delivery["attempts"]) == [
            (1, "failed", 500, "answered HTTP 500"),
            (2, "failed", 500, "answered HTTP 500"),
            (3, "succeeded", 200, None),
        ]
        assert delivery["next_attempt_at"] is None
        server.stop()
    # Deliveries are not logged one by one, and secrets never are.
    assert not [line for line in server.output if "HTTP Request" in line or SECRET in line]


def test_a_delivery_is_given_up_after_the_last_wait(database):
    schedule = {"webhook_retry_schedule": "0.1s", "webhook_retry_jitter": 0.0}
    with receiver() as rx, own_app(database, **schedule) as server, server.client(server.secret_key) as api:
        rx.status = 503
        hook = webhook(api, rx.url("/down", SECRET))
        (delivery,) = wait_deliveries(api, hook["id"], lambda ds: ds and ds[0]["status"] == "failed")
        assert shape(delivery["attempts"]) == [
            (1, "failed", 503, "answered HTTP 503"),
            (2, "failed", 503, "answered HTTP 503"),
        ]
        assert delivery["next_attempt_at"] is None
        assert len(rx.received("/down")) == 2


def test_a_slow_receiver_is_cut_off_at_the_timeout_and_the_api_answers_meanwhile(database):
    settings = {"webhook_retry_schedule": "0.2s,0.2s,0.2s", "webhook_retry_jitter": 0.0, "webhook_timeout": 0.5}
    with receiver() as rx, own_app(database, **settings) as server, server.client(server.secret_key) as api:
        rx.delay = 3.0
        hook = webhook(api, rx.url("/slow", SECRET))
        started = time.monotonic()
        for _ in range(5):
            created(api, card())
        assert time.monotonic() - started < 2.5  # the API did not wait for the receiver

        def ping_failed(found: list[dict]) -> bool:
            return any(d["event_type"] == "ping" and d["attempts"][0]["status"] == "failed" for d in found)

        found = wait_deliveries(api, hook["id"], ping_failed)
        delivery = next(d for d in found if d["event_type"] == "ping")
        first = delivery["attempts"][0]
        assert (first["status"], first["response_code"], first["error"]) == ("failed", None, "could not connect")
        assert 400 <= first["duration_ms"] < 2000


def test_webhook_url_gets_every_merchants_events_signed_with_webhook_secret(database):
    with receiver() as rx:
        url = rx.url("/global", "global-secret")
        flags = ["--webhook-url", url, "--webhook-secret", "global-secret"]
        with own_server(database, flags) as server, server.client(server.secret_key) as api:
            other = subprocess.run(
                [sys.executable, "-m", "komoju_server", "merchants", "create", "--json", "--database-url", database],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
                env=server_env(database),
            )
            other_key = json.loads(other.stdout)["test_secret_key"]
            mine = created(api, card())
            with server.client(other_key) as other_api:
                theirs = created(other_api, konbini(), webhooks=[rx.url("/theirs", "global-secret")])
            got = rx.wait_for(lambda g: {r.event["data"].get("id") for r in g} >= {mine["id"], theirs["id"]})
            assert all(g.signed for g in got)
            assert {g.event["type"] for g in got} == {"payment.captured", "payment.authorized"}
            # The payment's own URL is signed with --webhook-secret as well.
            (own,) = rx.wait_events("/theirs", ["payment.authorized"])
            assert own.signed is True
            assert own.event["data"]["id"] == theirs["id"]


def test_bad_webhook_flags_stop_the_server_before_it_starts(tmp_path):
    for flags, message in (
        (["--webhook-retry-schedule", "soon"], "not a duration"),
        (["--webhook-retry-jitter", "1.5"], "jitter"),
        (["--webhook-timeout", "0"], "--webhook-timeout"),
        (["--webhook-concurrency", "0"], "--webhook-concurrency"),
        (["--webhook-url", "ftp://example.com"], "--webhook-url"),
        # The policy refuses loopback here: even a regression would only knock on port 9 (discard).
        (
            ["--no-webhook-allow-private", "--webhook-url", "http://127.0.0.1:9/"],
            "error: --webhook-url is a loopback address, which the outbound policy refuses",
        ),
        (["--rate-limit", "fast"], "error: --rate-limit must look like 50/s"),
        (["--auth-failure-limit", "10/week"], "error: --auth-failure-limit must look like"),
    ):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "komoju_server",
                "serve",
                "--port",
                "0",
                "--database-url",
                f"sqlite:///{tmp_path / 'bad.db'}",
                *flags,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2, (flags, out.stdout, out.stderr)
        assert message in out.stderr
        assert "listening on" not in out.stdout


def test_a_killed_server_delivers_its_backlog_after_restart(database):
    """Receiver down, deliveries pile up and fail; SIGKILL; receiver up; restart: every event
    arrives at least once, and every attempt, the ones before the crash too, is on record."""
    keys = new_keys()
    flags = ["--webhook-retry-schedule", ",".join(["0.3s"] * 50), "--webhook-retry-jitter", "0"]
    with receiver(listening=False) as rx:
        with own_server(database, flags, keys) as first, first.client(first.secret_key) as api:
            hook = webhook(api, rx.url("/backlog", SECRET))
            payments = [created(api, konbini()) for _ in range(4)]
            payments += [created(api, card()) for _ in range(3)]
            for p in payments[:2]:
                api.post(f"/payments/{p['id']}/cancel")
            wanted = 1 + len(payments) + 2  # the ping, each payment's first event, two cancellations
            before = wait_deliveries(
                api, hook["id"], lambda ds: len(ds) == wanted and all(len(d["attempts"]) >= 1 for d in ds)
            )
            assert all(d["status"] == "pending" for d in before)
            event_ids = {d["event"] for d in before}
            first.stop(signal.SIGKILL)
        rx.up()
        with own_server(database, flags, keys) as second, second.client(second.secret_key) as api:
            rx.wait_for(lambda got: {g.event["id"] for g in got if g.status == 200} >= event_ids)
            after = wait_deliveries(api, hook["id"], lambda ds: all(d["status"] == "succeeded" for d in ds))
    assert len(after) == wanted
    seen = collections.Counter(g.event["id"] for g in rx.received())
    assert set(seen) == event_ids
    for delivery in after:
        before_crash = next(d for d in before if d["id"] == delivery["id"])
        numbers = [a["number"] for a in delivery["attempts"]]
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) > len(before_crash["attempts"])
        *failed, last = delivery["attempts"]
        assert (last["status"], last["response_code"]) == ("succeeded", 200)
        for a in failed:
            assert a["status"] in ("failed", "interrupted"), a
            # Refused, or not sent while the receiver was known to refuse (webhooks/breaker.py).
            assert (
                a["error"].startswith(("could not connect", "not sent: could not connect"))
                or a["status"] == "interrupted"
            ), a


def test_an_attempt_cut_short_by_sigkill_is_marked_interrupted_and_the_delivery_sent_again(database):
    # On SQLite the restarted server releases the dead one's claims at once; on PostgreSQL the
    # lease (the timeout and 5 s) runs out first.
    keys = new_keys()
    flags = [*FAST, "--webhook-timeout", "0.5"]
    with receiver() as rx:
        rx.delay = 30.0
        with own_server(database, flags, keys) as first, first.client(first.secret_key) as api:
            hook = webhook(api, rx.url("/cut", SECRET))
            rx.wait_for(lambda got: len(got) == 1)  # the ping reached the receiver
            first.stop(signal.SIGKILL)
        rx.delay = 0
        with own_server(database, flags, keys) as second, second.client(second.secret_key) as api:
            (delivery,) = wait_deliveries(api, hook["id"], lambda ds: ds[0]["status"] == "succeeded")
    assert shape(delivery["attempts"]) == [
        (1, "interrupted", None, "the server stopped before the answer was recorded"),
        (2, "succeeded", 200, None),
    ]
    assert [g.delivery_id for g in rx.received()] == [delivery["id"], delivery["id"]]


def test_sigterm_with_a_delivery_under_way_exits_0_promptly_and_the_delivery_is_kept(database):
    keys = new_keys()
    with receiver() as rx:
        rx.delay = 30.0
        with own_server(database, FAST, keys) as first, first.client(first.secret_key) as api:
            hook = webhook(api, rx.url("/stuck", SECRET))
            rx.wait_for(lambda got: len(got) == 1)  # the ping is under way, and stays so
            started = time.monotonic()
            assert first.stop(signal.SIGTERM) == 0
            assert time.monotonic() - started < 10
        rx.delay = 0
        with own_server(database, FAST, keys) as second, second.client(second.secret_key) as api:
            (delivery,) = wait_deliveries(api, hook["id"], lambda ds: ds[0]["status"] == "succeeded")
    assert shape(delivery["attempts"]) == [
        (1, "interrupted", None, "the server stopped during the attempt"),
        (2, "succeeded", 200, None),
    ]
    assert len({g.delivery_id for g in rx.received()}) == 1


def test_several_processes_on_postgresql_never_send_one_delivery_twice(tmp_path):
    flags = ["--workers", "2", "--webhook-retry-schedule", ",".join(["0.2s"] * 50), "--webhook-retry-jitter", "0"]
    with (
        fresh_database("postgres", tmp_path) as database,
        receiver(listening=False) as rx,
        own_server(database, flags) as server,
        server.client(server.secret_key) as api,
    ):
        hook = webhook(api, rx.url("/shared", SECRET))
        for n in range(40):
            created(api, card(), amount=100 + n)
        # A backlog of 41 failing every 0.2 s, kept long enough for both processes to have
        # polled and to be waking for the same due deliveries.
        wait_deliveries(api, hook["id"], lambda ds: len(ds) == 41 and len(ds[-1]["attempts"]) >= 8)
        rx.up()
        found = wait_deliveries(
            api, hook["id"], lambda ds: len(ds) == 41 and all(d["status"] == "succeeded" for d in ds)
        )
    # Once succeeded a delivery is never claimed again, so the record is complete: one
    # successful attempt each, none left under way, and each delivery id seen by the
    # receiver exactly once.
    for delivery in found:
        statuses = [a["status"] for a in delivery["attempts"]]
        assert statuses.count("succeeded") == 1 and statuses[-1] == "succeeded", delivery
        assert set(statuses[:-1]) <= {"failed"}, delivery
    ids = collections.Counter(g.delivery_id for g in rx.received())
    assert set(ids) == {d["id"] for d in found}
    assert ids.most_common(1)[0][1] == 1
