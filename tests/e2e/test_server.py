"""The `komoju-server` command itself: serve's flags and life cycle, migrate, merchants create."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.support import ServerProcess, new_merchant

CLI = [sys.executable, "-m", "komoju_server"]


def test_new_database_gets_random_test_keys_that_work(sqlite_url: str):
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--database-url", sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert re.fullmatch(r"listening on http://127\.0\.0\.1:\d+\n", first)
        url = first.split()[-1]
        lines = [proc.stdout.readline()]
        while "shown only now" not in lines[-1] and lines[-1]:  # the banner's last part
            lines.append(proc.stdout.readline())
        lines += [proc.stdout.readline() for _ in range(2)]
        text = "".join(lines)
        assert re.search(r"live secret key: sk_live_[a-z0-9]{32}\n  live publishable key: pk_live_[a-z0-9]{32}", text)
        secret = re.search(r"test secret key: (sk_test_[a-z0-9]{32})", text)
        public = re.search(r"test publishable key: (pk_test_[a-z0-9]{32})", text)
        assert secret and public, text
        ServerProcess(proc, url, sqlite_url, secret.group(1), public.group(1)).wait_healthy()
        assert httpx.get(url + "/api/v1/payments", auth=(secret.group(1), "")).status_code == 200
        assert httpx.get(url + "/api/v1/payments", auth=(public.group(1), "")).status_code == 403
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_merchants_create_prints_test_and_live_pairs(sqlite_url: str):
    out = subprocess.run(
        [*CLI, "merchants", "create", "--database-url", sqlite_url, "--name", "shop"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for label, prefix in (
        ("test secret key", "sk_test_"),
        ("test publishable key", "pk_test_"),
        ("live secret key", "sk_live_"),
        ("live publishable key", "pk_live_"),
    ):
        assert re.search(rf"{label}: {prefix}[a-z0-9]{{32}}", out), out


def test_migrate_applies_then_reports_up_to_date(sqlite_url: str):
    first = subprocess.run([*CLI, "migrate", "--database-url", sqlite_url], capture_output=True, text=True, check=True)
    assert first.stdout.startswith("applied migrations: [1")
    again = subprocess.run([*CLI, "migrate", "--database-url", sqlite_url], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "database is up to date"


def test_workers_are_refused_on_sqlite(sqlite_url: str):
    result = subprocess.run(
        [*CLI, "serve", "--port", "0", "--workers", "2", "--database-url", sqlite_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers needs PostgreSQL" in result.stderr


def test_workers_serve_on_postgres_and_stop_on_sigterm(postgres_url: str):
    server = ServerProcess.start(postgres_url, secret_key="sk_test_workers", extra=["--workers", "2"])
    try:
        with server.client(server.secret_key) as api:
            for _ in range(20):
                assert api.get("/payments").status_code == 200
    finally:
        assert server.stop() == 0


def test_maintenance_answers_503_on_the_api_only(sqlite_url: str):
    server = ServerProcess.start(sqlite_url, extra=["--maintenance"])
    try:
        with server.client(server.secret_key) as api:
            response = api.get("/payments")
        assert response.status_code == 503
        assert response.json() == {
            "error": {
                "code": "service_unavailable",
                "param": None,
                "message": "The server is down for maintenance. Please try again later.",
            }
        }
        assert httpx.get(server.url + "/health").status_code == 200
    finally:
        server.stop()


def test_sigterm_finishes_the_request_in_flight_then_exits_0(sqlite_url: str):
    server = ServerProcess.start(sqlite_url)
    host, port = server.url.removeprefix("http://").split(":")
    body = (
        b"amount=1000&currency=JPY&payment_details[type]=credit_card&payment_details[number]=4111111111111111"
        b"&payment_details[month]=1&payment_details[year]=2030"
    )
    import base64

    auth = base64.b64encode(f"{server.secret_key}:".encode()).decode()
    head = (
        f"POST /api/v1/payments HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(head + body[:20])
        time.sleep(0.3)  # the request is now in flight: headers read, body pending
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.sendall(body[20:])
        conn.settimeout(10)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b'"status":"captured"' in reply
    assert server.process.wait(30) == 0


def test_keys_of_different_merchants_or_kinds_are_refused(sqlite_url: str):
    first, second = new_merchant(sqlite_url), new_merchant(sqlite_url)
    refused = [
        (first["test_secret_key"], second["test_publishable_key"]),  # two merchants
        (first["live_secret_key"], first["live_publishable_key"]),  # live keys are not test keys
        (first["test_publishable_key"], first["test_secret_key"]),  # swapped
        (first["test_secret_key"], "pk_test_never_seen_before"),  # one known, one new
    ]
    for secret, public in refused:
        result = subprocess.run(
            [
                *CLI,
                "serve",
                "--port",
                "0",
                "--database-url",
                sqlite_url,
                "--secret-key",
                secret,
                "--publishable-key",
                public,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, (secret, public, result.stdout)
        assert "must be the test secret and test publishable keys of one merchant" in result.stderr
    server = ServerProcess.start(sqlite_url, first["test_secret_key"], first["test_publishable_key"])
    try:
        with server.client(server.secret_key) as api:
            assert api.get("/payments").status_code == 200
    finally:
        server.stop()
