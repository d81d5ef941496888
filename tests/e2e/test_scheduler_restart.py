"""Timers live in the database: a deadline that passes while the server is restarting still
expires its payment once the server is back."""

from __future__ import annotations

import calendar
import secrets
import time

import httpx

from tests.support import ServerProcess

KEY, PUBLIC = "sk_test_" + secrets.token_hex(16), "pk_test_" + secrets.token_hex(16)
KONBINI = {"type": "konbini", "store": "lawson", "email": "buyer@example.com"}


def utc(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def seconds_to_deadline(client: httpx.Client, payment: dict) -> int:
    return utc(payment["payment_deadline"]) - utc(client.get("/sandbox/clock").json()["now"])


def status_within(client: httpx.Client, payment_id: str, wanted: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status = client.get(f"/payments/{payment_id}").json()["status"]
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_deadlines_survive_a_restart(database_url: str):
    server = ServerProcess.start(database_url, KEY, PUBLIC)
    try:
        with server.client(KEY) as client:
            body = {"amount": 900, "currency": "JPY", "payment_details": KONBINI}
            payments = [client.post("/payments", json=body).json() for _ in range(2)]
            # Both deadlines 2 s away on the merchant's clock; the server stops before them.
            step = seconds_to_deadline(client, payments[0]) - 1
            assert client.post("/sandbox/clock/advance", json={"seconds": step}).status_code == 200
            assert client.get(f"/payments/{payments[0]['id']}").json()["status"] == "authorized"
    finally:
        assert server.stop() == 0
    server = ServerProcess.start(database_url, KEY, PUBLIC)
    try:
        with server.client(KEY) as client:
            for payment in payments:
                assert status_within(client, payment["id"], "expired", 15) == "expired"
            types = [e["type"] for e in client.get("/events").json()["data"]]
            assert types.count("payment.expired") == 2
    finally:
        server.stop()
