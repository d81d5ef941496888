"""What `komoju-server serve` prints, read from real server processes: the first line, the
banner, a line per request and per webhook attempt, text and JSON, `--quiet`, and never a
secret. (tests/test_console.py tests the parts on their own.)"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from komoju_server import __version__
from tests.support import ServerProcess, new_merchant, server_env
from tests.webhooks.harness import own_server, receiver

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
REQUEST_ID = r"[0-9a-f]{24}"
CARD_NUMBER = "4111111111111111"
SECRET_TOKEN = "whsec-console-test-3a91f"
FAST_RETRY = ["--webhook-retry-schedule", "0.3s", "--webhook-retry-jitter", "0"]


def wait_lines(server: ServerProcess, check: Callable[[list[str]], bool], seconds: float = 15) -> list[str]:
    """The server's output lines once `check` holds (fails with the output if it never does)."""
    deadline = time.monotonic() + seconds
    while True:
        lines = [line.rstrip("\n") for line in list(server.output)]
        if check(lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError("the console never showed it:\n" + "\n".join(lines))
        time.sleep(0.05)


def card_payment(api: httpx.Client) -> dict[str, Any]:
    response = api.post(
        "/payments",
        data={
            "amount": "1000",
            "currency": "JPY",
            "payment_details[type]": "credit_card",
            "payment_details[number]": CARD_NUMBER,
            "payment_details[month]": "1",
            "payment_details[year]": "2030",
            "payment_details[verification_value]": "123",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def add_webhook(api: httpx.Client, url: str) -> dict[str, Any]:
    response = api.post("/webhooks", json={"url": url, "secret_token": SECRET_TOKEN})
    assert response.status_code == 200, response.text
    return response.json()


def test_text_lines_for_requests_and_webhook_attempts_and_nothing_secret(sqlite_url: str):
    with receiver() as ok, receiver() as failing, receiver(listening=False) as down:
        ok.fail_next(1)  # the first attempt gets a 500, the retry a 200
        failing.status = 500  # every attempt: retried once (FAST_RETRY), then given up
        ok_url = ok.url("/hook?token=querysecret").replace("http://", "http://hookuser:hookpassword@")
        ok_shown = f"http://127.0.0.1:{ok.port}/hook"
        hook = r"webhook (?P<event>[a-z.]+) (?P<id>[0-9a-z]+) -> (?P<url>\S+) (?P<answer>\S+) \d+ms "
        pattern = re.compile(STAMP + " " + hook + r"attempt (?P<n>\d+), (?P<then>.*)")

        def attempts(lines: list[str]) -> list[dict[str, str]]:
            return [m.groupdict() for line in lines if (m := pattern.fullmatch(line))]

        with own_server(sqlite_url, extra=FAST_RETRY) as server:
            other = new_merchant(sqlite_url)  # a merchant the banner does not show
            with server.client(other["test_secret_key"], headers={"X-Request-Id": "my-request-42"}) as api:
                assert api.get("/payments/nosuchpayment").status_code == 404
            with server.client(other["test_secret_key"]) as api:
                add_webhook(api, ok_url)
                # The receiver's first request, answered 500, is to be the ping's: deliveries
                # go out side by side, so the payment's event waits until the ping was tried.
                wait_lines(server, lambda lines: any(a["url"] == ok_shown for a in attempts(lines)))
                add_webhook(api, failing.url("/fails"))
                add_webhook(api, down.url("/down"))
                payment = card_payment(api)
                assert api.get("/payments", params={"email": "querymail@example.com"}).status_code == 200

            def settled(lines: list[str]) -> bool:
                got = attempts(lines)
                return (
                    sum(a["then"] == "delivered" for a in got) == 2
                    and sum(a["then"] == "gave up" for a in got) == 4
                    and any(" GET /api/v1/payments 200 " in line for line in lines)
                )

            lines = wait_lines(server, settled)
            with server.client(other["test_secret_key"]) as api:
                events = api.get("/events", params={"per_page": 100}).json()["data"]
    text = "\n".join(lines)
    health = [line for line in lines if " GET /health " in line]  # ServerProcess waiting for it
    assert health and all(re.fullmatch(STAMP + rf" GET /health 200 \d+\.\dms id={REQUEST_ID}", h) for h in health)
    requests = [line for line in lines if re.match(STAMP + " (GET|POST) /api", line)]
    assert re.fullmatch(STAMP + r" GET /api/v1/payments/nosuchpayment 404 \d+\.\dms id=my-request-42", requests[0])
    assert [re.sub(STAMP + r" (\S+ \S+ \d+) .*", r"\1", line) for line in requests[1:]] == [
        "POST /api/v1/webhooks 200",
        "POST /api/v1/webhooks 200",
        "POST /api/v1/webhooks 200",
        "POST /api/v1/payments 200",
        "GET /api/v1/payments 200",
    ]
    for line in requests[1:]:
        assert re.fullmatch(STAMP + rf" \S+ \S+ \d+ \d+\.\dms id={REQUEST_ID}", line), line

    by_target = {}
    for attempt in attempts(lines):
        by_target.setdefault((attempt["event"], attempt["url"]), []).append(attempt)
    assert [(a["answer"], a["n"]) for a in by_target[("ping", ok_shown)]] == [("500", "1"), ("200", "2")]
    first, second = by_target[("ping", ok_shown)]
    assert re.fullmatch(r"next try \d\d:\d\d:\d\d \(in 0s\)", first["then"])
    assert second["then"] == "delivered"
    assert {a["id"] for a in by_target[("ping", ok_shown)]} == {first["id"]}
    captured = by_target[("payment.captured", ok_shown)]
    assert [(a["answer"], a["n"], a["then"]) for a in captured] == [("200", "1", "delivered")]
    assert captured[0]["id"] == next(e["id"] for e in events if e["type"] == "payment.captured")
    assert next(e for e in events if e["type"] == "payment.captured")["data"]["id"] == payment["id"]
    for path, answer in (("/fails", "500"), ("/down", "could_not_connect|receiver_down")):
        for event in ("ping", "payment.captured"):
            tried = by_target[(event, f"http://127.0.0.1:{(failing if path == '/fails' else down).port}{path}")]
            assert [a["n"] for a in tried] == ["1", "2"]
            assert all(re.fullmatch(answer, a["answer"]) for a in tried), tried
            assert tried[1]["then"] == "gave up"

    # Never a body, a key, a card number, a secret token, a receiver's credentials or a query.
    auth = base64.b64encode(f"{other['test_secret_key']}:".encode()).decode()
    for secret in (
        CARD_NUMBER,
        other["test_secret_key"],
        auth,
        SECRET_TOKEN,
        "hookuser",
        "hookpassword",
        "querysecret",
        "querymail",
        '"amount"',
        "payment_details",
    ):
        assert secret not in text, secret
    # The banner's merchant is the first one, the server's own: its key shows there, only there.
    assert [line for line in lines if server.secret_key in line] == [f"  test secret key: {server.secret_key}"]


def test_json_lines(postgres_url: str):
    with receiver() as ok, own_server(postgres_url, extra=["--log-format", "json"]) as server:
        with server.client(server.secret_key) as api:
            add_webhook(api, ok.url("/hook"))
            payment = card_payment(api)
            assert api.get("/payments", params={"status": "captured"}).status_code == 200
        lines = wait_lines(
            server,
            lambda lines: (
                sum('"type":"webhook"' in line for line in lines) == 2
                and any('"method":"GET","path":"/api/v1/payments"' in line for line in lines)
            ),
        )
        events = httpx.get(f"{server.url}/api/v1/events", auth=(server.secret_key, "")).json()["data"]
    entries = [json.loads(line) for line in lines]  # the first line, `listening on`, was read by ServerProcess
    pid = server.process.pid
    for entry in entries:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time")), entry
        if entry["type"] != "log":
            assert entry.pop("pid") == pid
    started = entries[0]
    merchant_id = started["merchant"]["id"]
    assert started == {
        "type": "started",
        "version": __version__,
        "url": server.url,
        "api": f"{server.url}/api/v1",
        "dashboard": f"{server.url}/dashboard",
        "database": "PostgreSQL " + postgres_url.rpartition("@")[2],  # host:port/name, no password
        "workers": 1,
        "merchant": {
            "id": merchant_id,
            "name": "default",
            "test_secret_key": server.secret_key,
            "test_publishable_key": server.publishable_key,
            "note": None,
        },
        "created": {
            "merchant_id": merchant_id,
            "test_secret_key": server.secret_key,
            "test_publishable_key": server.publishable_key,
            "live_secret_key": started["created"]["live_secret_key"],
            "live_publishable_key": started["created"]["live_publishable_key"],
        },
    }
    assert re.fullmatch(r"sk_live_[a-z0-9]{32}", started["created"]["live_secret_key"])
    requests = [e for e in entries if e["type"] == "request"]
    for entry in requests:
        assert set(entry) == {"type", "method", "path", "status", "duration_ms", "request_id"}
        assert isinstance(entry["duration_ms"], float | int) and entry["duration_ms"] >= 0
        assert re.fullmatch(REQUEST_ID, entry["request_id"])
    assert {(e["method"], e["path"], e["status"]) for e in requests if e["path"] == "/health"} == {
        ("GET", "/health", 200)  # ServerProcess waiting for the server: once, or more on a busy machine
    }
    assert [(e["method"], e["path"], e["status"]) for e in requests if e["path"] != "/health"] == [
        ("POST", "/api/v1/webhooks", 200),
        ("POST", "/api/v1/payments", 200),
        ("GET", "/api/v1/payments", 200),
    ]
    hooks = sorted((e for e in entries if e["type"] == "webhook"), key=lambda e: e["event_type"])
    for hook, event_type in zip(hooks, ("payment.captured", "ping"), strict=True):
        assert re.fullmatch(r"[0-9a-z]+", hook.pop("delivery_id"))
        assert isinstance(hook.pop("duration_ms"), int)
        assert hook == {
            "type": "webhook",
            "event_type": event_type,
            "event_id": next(e["id"] for e in events if e["type"] == event_type),
            "url": ok.url("/hook"),
            "attempt": 1,
            "status": 200,
            "error": None,
            "outcome": "succeeded",
            "next_attempt_at": None,
        }
    assert next(e for e in events if e["type"] == "payment.captured")["data"]["id"] == payment["id"]
    assert not [e for e in entries if e["type"] == "log" and e["level"] in ("warning", "error")]


def test_a_failing_attempt_in_json_says_when_the_next_try_is(sqlite_url: str):
    with receiver(listening=False) as down, own_server(sqlite_url, extra=["--log-format", "json"]) as server:
        with server.client(server.secret_key) as api:
            add_webhook(api, down.url("/down"))
        lines = wait_lines(server, lambda lines: any('"type":"webhook"' in line for line in lines))
    (hook,) = [json.loads(line) for line in lines if '"type":"webhook"' in line]
    assert (hook["event_type"], hook["status"], hook["error"], hook["outcome"]) == (
        "ping",
        None,
        "could_not_connect",
        "retrying",
    )
    wait = time.mktime(time.strptime(hook["next_attempt_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.mktime(
        time.strptime(hook["time"][:19], "%Y-%m-%dT%H:%M:%S")
    )
    assert 40 <= wait <= 80  # the first wait: 1 minute, give or take the jitter (20%)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_quiet_prints_the_first_line_only(sqlite_url: str, how: str):
    with receiver(listening=False) as down:
        extra = ["--quiet"] if how == "flag" else []
        env = {"KOMOJU_QUIET": "1"} if how == "env" else None
        server = ServerProcess.start(sqlite_url, extra=extra, env=env)
        try:
            with server.client(server.secret_key) as api:
                add_webhook(api, down.url("/down"))
                card_payment(api)
                assert api.get("/payments/nosuchpayment").status_code == 404
            deliveries = []
            deadline = time.monotonic() + 15
            while len(deliveries) < 2 and time.monotonic() < deadline:  # the attempts were made
                with server.client(server.secret_key) as api:
                    webhooks = api.get("/webhooks").json()["data"]
                    deliveries = api.get(f"/webhooks/{webhooks[0]['id']}/deliveries").json()["data"]
                time.sleep(0.1)
            assert len(deliveries) == 2
        finally:
            assert server.stop() == 0
    assert server.output == []  # ServerProcess took the first line; stdout and stderr both stay empty
    assert server.url.startswith("http://127.0.0.1:")


def test_the_log_format_comes_from_the_environment_too(sqlite_url: str):
    server = ServerProcess.start(sqlite_url, env={"KOMOJU_LOG_FORMAT": "json"})
    try:
        lines = wait_lines(server, lambda lines: any('"type":"request"' in line for line in lines))
    finally:
        server.stop()
    entries = [json.loads(line) for line in lines]
    assert [e["type"] for e in entries if e["type"] != "log"][:2] == ["started", "request"]
    assert next(e for e in entries if e["type"] == "request")["path"] == "/health"


def test_a_bad_log_format_stops_the_server(sqlite_url: str):
    for args, env, message in (
        (["--log-format", "xml"], {}, "invalid choice: 'xml'"),
        ([], {"KOMOJU_LOG_FORMAT": "xml"}, "KOMOJU_LOG_FORMAT must be one of text, json, not 'xml'"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "komoju_server", "serve", "--port", "0", "--database-url", sqlite_url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=server_env(sqlite_url, env),
        )
        assert out.returncode == 2 if args else out.returncode == 1, out
        assert message in out.stderr
        assert out.stdout == ""


def test_an_expired_payment_gets_a_line(sqlite_url: str):
    with own_server(sqlite_url) as server:
        with server.client(server.secret_key) as api:
            slip = api.post(
                "/payments",
                json={
                    "amount": 1000,
                    "currency": "JPY",
                    "payment_details": {
                        "type": "konbini",
                        "store": "lawson",
                        "email": "a@example.com",
                        "expiry_days": 0,
                    },
                },
            ).json()
            merchant = json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "komoju_server",
                        "merchants",
                        "list",
                        "--json",
                        "--database-url",
                        sqlite_url,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=server_env(sqlite_url),
                ).stdout
            )[0]["id"]
            assert api.post("/sandbox/clock/advance", json={"seconds": 2 * 86_400}).status_code == 200
            assert api.get(f"/payments/{slip['id']}").json()["status"] == "expired"
        lines = wait_lines(server, lambda lines: any(" expired " in line for line in lines))
    (line,) = [line for line in lines if " expired " in line]
    assert re.fullmatch(STAMP + rf" expired test payment {slip['id']} \(konbini\) of merchant {merchant}", line)


def serve_without_keys(database_url: str, *extra: str) -> ServerProcess:
    """`serve` with no key flags, as a person starts it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "komoju_server", "serve", "--port", "0", "--database-url", database_url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=server_env(database_url),
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.startswith("listening on "), first + process.stdout.read()
    server = ServerProcess(process, first.removeprefix("listening on "), database_url, "", "")
    threading.Thread(target=server._drain, daemon=True).start()
    server.wait_healthy()
    return server


def banner_keys(lines: list[str]) -> tuple[str, str, str]:
    text = "\n".join(lines)
    found = re.search(
        r"  merchant:  ([0-9a-z]+) \(default\)\n  test secret key: (sk_test_[a-z0-9]{32})\n"
        r"  test publishable key: (pk_test_[a-z0-9]{32})\n"
        r"  \(`komoju-server merchants list` shows every merchant's test keys again\)",
        text,
    )
    assert found, text
    return found.group(1), found.group(2), found.group(3)


def test_the_banner_shows_the_first_merchants_keys_at_every_start(sqlite_url: str):
    first = serve_without_keys(sqlite_url)
    try:
        lines = wait_lines(first, lambda lines: any("shown only now" in line for line in lines))
    finally:
        assert first.stop() == 0
    start = next(n for n, line in enumerate(lines) if line.startswith("komoju-server "))
    assert lines[start] == f"komoju-server {__version__} (SQLite {sqlite_url.removeprefix('sqlite:///')})"
    assert lines[start + 1 : start + 3] == [f"  API:       {first.url}/api/v1", f"  dashboard: {first.url}/dashboard"]
    merchant_id, secret_key, publishable_key = banner_keys(lines)
    assert f"created merchant {merchant_id}; its live keys are shown only now:" in lines

    new_merchant(sqlite_url)  # a second merchant: the banner keeps showing the first
    again = serve_without_keys(sqlite_url)
    try:
        lines = wait_lines(again, lambda lines: any("GET /health" in line for line in lines))
        assert banner_keys(lines) == (merchant_id, secret_key, publishable_key)
        assert not any("created" in line or "live" in line for line in lines)
        assert httpx.get(f"{again.url}/api/v1/payments", auth=(secret_key, "")).status_code == 200
        assert httpx.get(f"{again.url}/api/v1/payments", auth=(publishable_key, "")).status_code == 403
    finally:
        again.stop()

    as_json = serve_without_keys(sqlite_url, "--log-format", "json")
    try:
        lines = wait_lines(as_json, lambda lines: len(lines) >= 1)
    finally:
        as_json.stop()
    started = json.loads(lines[0])
    assert (started["created"], started["merchant"]["id"], started["merchant"]["test_secret_key"]) == (
        None,
        merchant_id,
        secret_key,
    )


def test_every_worker_process_prints_its_requests(postgres_url: str):
    server = ServerProcess.start(postgres_url, extra=["--workers", "2", "--log-format", "json"])
    try:
        sent = 0
        pids: set[int] = set()
        while len(pids) < 2 and sent < 400:
            for _ in range(20):  # a new connection each: either process may take it
                assert httpx.get(f"{server.url}/api/v1/payments", auth=(server.secret_key, "")).status_code == 200
                sent += 1
            lines = wait_lines(server, lambda lines, n=sent: sum('"path":"/api/v1/payments"' in x for x in lines) == n)
            pids = {json.loads(x)["pid"] for x in lines if '"path":"/api/v1/payments"' in x}
    finally:
        assert server.stop() == 0
    assert len(pids) == 2
    assert server.process.pid not in pids
    assert json.loads(lines[0])["workers"] == 2
