"""A database outage under a running server: the API and /health answer 503
`service_unavailable` in KOMOJU's envelope, fast, without a traceback per request (the outage
is logged once when it starts and once when it ends), nothing of a refused write is kept, and
the server recovers by itself when the database is back.

PostgreSQL is reached through a TCP proxy the test cuts (listener and live connections) and
restores. SQLite gets a real full disk (the server process's file size limit lowered to one
byte, so its writes fail with the driver's own "disk I/O error"), and its database directory
moved away and back.
"""

from __future__ import annotations

import resource
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.proxy import TcpProxy, target_of, via
from tests.support import ServerProcess
from tests.webhooks.harness import receiver

KEY, PUBLIC = "sk_test_" + secrets.token_hex(16), "pk_test_" + secrets.token_hex(16)
PAYMENT = {
    "amount": 1000,
    "currency": "JPY",
    "payment_details": {"type": "konbini", "store": "lawson", "email": "buyer@example.com"},
}
UNAVAILABLE = {
    "error": {
        "code": "service_unavailable",
        "message": "The service is temporarily unavailable. Please try again later.",
        "param": None,
    }
}
FAST = 1.0  # seconds: the most a 503 may take during an outage
RECOVERY = 5.0  # seconds: the most the server may take to serve again once the database is back


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json() == UNAVAILABLE
    assert answer.headers["Retry-After"] == "1"


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


def seconds_until_healthy(root: httpx.Client) -> float:
    started = time.monotonic()
    while root.get("/health").status_code != 200:
        assert time.monotonic() - started < RECOVERY, "the server did not recover"
        time.sleep(0.02)
    return time.monotonic() - started


def total(api: httpx.Client) -> int:
    answer = api.get("/payments")
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


def assert_outage_logged_once(server: ServerProcess, database: str) -> None:
    server.stop()
    output = "".join(server.output)
    assert "Traceback" not in output, output
    started = [line for line in output.splitlines() if f"{database} unavailable (" in line]
    ended = [line for line in output.splitlines() if f"{database} is back after " in line]
    assert len(started) == 1 and len(ended) == 1, output
    assert "answering 503 until it is back" in started[0]


@contextmanager
def serving(database_url: str, *extra: str) -> Iterator[tuple[ServerProcess, httpx.Client, httpx.Client]]:
    server = ServerProcess.start(database_url, secret_key=KEY, publishable_key=PUBLIC, extra=extra)
    try:
        with server.client(KEY) as api, httpx.Client(base_url=server.url, timeout=30) as root:
            yield server, api, root
    finally:
        server.stop()


def test_postgres_outage_answers_503_fast_and_recovers_without_restart(postgres_url: str):
    proxy = TcpProxy(target_of(postgres_url)).start()
    try:
        with (
            receiver() as hooks,
            serving(via(postgres_url, proxy), "--webhook-url", hooks.url()) as (
                server,
                api,
                root,
            ),
        ):
            before = api.post("/payments", json=PAYMENT)
            assert before.status_code == 200, before.text
            payment_id = before.json()["id"]

            proxy.cut()
            calls = {
                "GET /health": lambda: root.get("/health"),
                "GET /payments": lambda: api.get("/payments"),
                "GET /payments/:id": lambda: api.get(f"/payments/{payment_id}"),
                "POST /payments": lambda: api.post("/payments", json=PAYMENT),
            }
            slowest = dict.fromkeys(calls, 0.0)
            outage_ends = time.monotonic() + 3  # long enough for the background loops to meet it too
            while time.monotonic() < outage_ends:
                for name, call in calls.items():
                    answer, seconds = timed(call)
                    assert_unavailable(answer)
                    slowest[name] = max(slowest[name], seconds)
                time.sleep(0.1)
            assert max(slowest.values()) < FAST, slowest

            proxy.restore()
            recovered_in = seconds_until_healthy(root)
            assert total(api) == 1  # the POSTs refused during the outage wrote nothing
            after = api.post("/payments", json=PAYMENT)
            assert after.status_code == 200, after.text
            shown = api.get(f"/payments/{after.json()['id']}")
            assert shown.status_code == 200 and shown.json() == after.json()
            assert total(api) == 2
            # The webhook worker met the outage too, and delivers again.
            hooks.wait_for(lambda got: any(r.event["data"]["id"] == after.json()["id"] for r in got))
            print(f"\npostgres outage: slowest 503 {slowest}; healthy again {recovered_in * 1000:.0f} ms after restore")
        assert_outage_logged_once(server, "PostgreSQL")
    finally:
        proxy.close()


@contextmanager
def disk_full(pid: int) -> Iterator[None]:
    """The process cannot write a byte to any file: its writes fail with EFBIG (Python ignores
    SIGXFSZ), which SQLite reports as a disk I/O error."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def test_sqlite_full_disk_refuses_writes_with_503_and_recovers(tmp_path: Path):
    with serving(f"sqlite:///{tmp_path / 'komoju.db'}") as (server, api, root):
        assert api.post("/payments", json=PAYMENT).status_code == 200
        with disk_full(server.process.pid):
            answer, seconds = timed(lambda: api.post("/payments", json=PAYMENT))
            assert_unavailable(answer)
            assert seconds < FAST
            health, health_seconds = timed(lambda: root.get("/health"))  # a probe write fails too
            assert_unavailable(health)
            assert health_seconds < FAST
            assert total(api) == 1  # reads still work, and the refused payment is not there
        recovered_in = seconds_until_healthy(root)
        assert api.post("/payments", json=PAYMENT).status_code == 200
        assert total(api) == 2
        print(f"\nsqlite full disk: 503 in {seconds * 1000:.1f} ms; healthy again {recovered_in * 1000:.0f} ms after")
    assert_outage_logged_once(server, "SQLite database")


def test_sqlite_database_directory_moved_away_answers_503_until_it_is_back(tmp_path: Path):
    home, away = tmp_path / "db", tmp_path / "elsewhere"
    home.mkdir()
    with serving(f"sqlite:///{home / 'komoju.db'}") as (server, api, root):
        assert api.post("/payments", json=PAYMENT).status_code == 200
        home.rename(away)
        assert_unavailable(root.get("/health"))
        assert_unavailable(api.post("/payments", json=PAYMENT))
        away.rename(home)
        seconds_until_healthy(root)
        assert total(api) == 1
        assert api.post("/payments", json=PAYMENT).status_code == 200
        assert total(api) == 2
    assert_outage_logged_once(server, "SQLite database")
