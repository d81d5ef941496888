"""No card number, CVV, prepaid number or password at rest or in the logs.

A server of its own (one on SQLite, one on PostgreSQL) takes these secrets every way it can:
tokens used and left unused, customers from hashes and tokens, updated and deleted, payments
inline, by token and by customer, declines and refusals. Then every byte it stored is read
back raw (SQLite: the database and its WAL, while running and after shutdown; PostgreSQL:
every column of every table) together with everything the server printed, and none of the
secrets may be found in clear.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import ServerProcess, create_database, drop_database

CARD_NUMBER = "4111111111111111"
CVV = "987"
PREPAID_PAID = "1111111111111111"  # the sandbox's good prepaid card, for payments that succeed
PREPAID_KEPT = "e987654321098765"  # kept by a token and a customer, never paid with
PASSWORD = "Secr3tPassw0rd"
CARD = {"type": "credit_card", "number": CARD_NUMBER, "month": 12, "year": 2030, "verification_value": CVV}

# What may never be found in clear: the values, and the secret fields' names, which would
# only appear next to a value in a stored JSON document.
FORBIDDEN = [
    CARD_NUMBER.encode(),
    PREPAID_PAID.encode(),
    PREPAID_KEPT.encode(),
    PASSWORD.encode(),
    f'"{CVV}"'.encode(),
    f"={CVV}".encode(),
    b"verification_value",
    b"prepaid_number",
    b"user_password",
    b'"number"',
]


@pytest.fixture(params=["sqlite", "postgres"])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'secrets.db'}"
    else:
        name = f"komoju_secrets_{secrets.token_hex(4)}"
        url = create_database(name)
    server = ServerProcess.start(url, secret_key="sk_test_secrets", publishable_key="pk_test_secrets")
    try:
        yield server
    finally:
        server.stop()
        if name:
            drop_database(name)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 202), response.text
    return response.json()


def use_every_path(server: ServerProcess) -> None:
    with server.client(server.publishable_key) as public, server.client(server.secret_key) as api:

        def token(details: dict[str, Any]) -> str:
            return ok(public.post("/tokens", json={"payment_details": details}))["id"]

        def pay(details: Any = None, **extra: Any) -> httpx.Response:
            body = {"amount": 1000, "currency": "JPY", **extra}
            if details is not None:
                body["payment_details"] = details
            return api.post("/payments", json=body)

        # Form-encoded, as the document's curl sends it.
        form = "&".join(f"payment_details[{k}]={v}" for k, v in CARD.items())
        ok(api.post("/tokens", content=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}))
        token(CARD)  # never used: stays sealed
        token({"type": "web_money", "prepaid_number": PREPAID_KEPT})  # never used
        ok(pay(token(CARD)))
        ok(pay(CARD))
        ok(pay({"type": "web_money", "prepaid_number": PREPAID_PAID}))
        ok(pay(token({"type": "nanaco", "prepaid_number": PREPAID_PAID})))
        ok(pay(token({"type": "dospara", "user_no": "u1", "user_password": PASSWORD})))
        short = ok(pay({"type": "web_money", "prepaid_number": PREPAID_PAID}, amount=3000))
        ok(api.patch(f"/payments/{short['id']}", json={"payment_details": {"prepaid_number": PREPAID_PAID}}))

        from_token = ok(api.post("/customers", json={"payment_details": token(CARD)}))
        inline = ok(api.post("/customers", json={"payment_details": CARD, "email": "c@example.com"}))
        ok(api.post("/customers", json={"payment_details": {"type": "web_money", "prepaid_number": PREPAID_KEPT}}))
        for customer in (from_token, inline):
            ok(pay(customer=customer["id"]))
        ok(api.patch(f"/customers/{inline['id']}", json={"payment_details": {**CARD, "month": 11}}))
        gone = ok(api.post("/customers", json={"payment_details": CARD}))
        ok(api.delete(f"/customers/{gone['id']}"))

        # Secure tokens (3-D Secure): one kept sealed, one paid with, one refused.
        def secure(details: Any) -> str:
            body = {"amount": 1000, "currency": "JPY", "return_url": "https://shop.example/done"}
            return ok(public.post("/secure_tokens", json={**body, "payment_details": details}))["id"]

        secure(CARD)  # never used: stays sealed
        ok(pay(secure(CARD)))
        ok(pay(secure(token(CARD))))
        assert public.post("/secure_tokens", json={"payment_details": CARD}).status_code == 422

        # Refusals and declines carry secrets too.
        assert pay({**CARD, "month": 13}).status_code == 422
        assert pay({**CARD, "number": "4123111111111059"}).status_code == 502
        assert api.post("/customers", json={"payment_details": CARD, "email": "bad"}).status_code == 422
        assert pay(token(CARD), currency="XYZ").status_code == 422


def raw_sqlite(path: str) -> bytes:
    out = b""
    for suffix in ("", "-wal"):
        file = Path(path + suffix)
        if file.exists():
            out += file.read_bytes()
    return out


def raw_postgres(url: str) -> bytes:
    async def dump() -> bytes:
        conn = await asyncpg.connect(url)
        try:
            tables = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            assert {"tokens", "secure_tokens", "customers", "payments", "events"} <= set(tables)
            out = bytearray()
            for table in tables:
                for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                    for value in row.values():
                        out += value if isinstance(value, bytes) else str(value).encode()
                        out += b"\x00"
            return bytes(out)
        finally:
            await conn.close()

    return asyncio.run(dump())


def found_in(data: bytes) -> list[bytes]:
    return [secret for secret in FORBIDDEN if secret in data]


def test_no_secret_is_stored_or_logged_in_clear(own_server: ServerProcess):
    use_every_path(own_server)
    url = own_server.database_url
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        running = raw_sqlite(path)
        assert b"tokens" in running and b"customers" in running and b"secure_tokens" in running  # really read
        assert found_in(running) == []
        own_server.stop()
        assert found_in(raw_sqlite(path)) == []
    else:
        stored = raw_postgres(url)
        assert b"tok_" in stored
        assert found_in(stored) == []
    log = "".join(own_server.output).encode()
    assert b"test secret key" in log  # the output was really captured
    assert found_in(log) == []
