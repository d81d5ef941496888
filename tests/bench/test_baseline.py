"""The bare baseline (bench/baseline.py) in process, on both backends: what its POSTs write.

`POST /payments/with-event` is the yardstick the bench holds a second POST line to: it must
write what a payment writes (its row, and its event's row about it), while `POST /payments`
stays the one insert the goals are measured against."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from bench.baseline import MERCHANT, MODE, WORK_PATH, Baseline
from bench.scenarios import PAYMENT_FORM

from bench import instructions

LISTED = "SELECT id, merchant_id, mode, status, pos FROM listed_payments ORDER BY seq"
EVENTS = "SELECT merchant_id, mode, type, subject, pos, doc FROM events ORDER BY seq"
PLAIN = "SELECT id FROM payments ORDER BY seq"


async def _pay(app: Baseline) -> tuple[list[tuple[int, bytes]], tuple[int, bytes]]:
    client = instructions.Client(app)
    stop = await instructions.start(app)
    try:
        with_events = [await client.request("POST", WORK_PATH, PAYMENT_FORM.encode()) for _ in range(3)]
        plain = await client.request("POST", "/payments", PAYMENT_FORM.encode())
    finally:
        await stop()
    return with_events, plain


async def _rows_postgres(url: str) -> tuple[list[Any], list[Any], list[Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(await conn.fetch(sql)) for sql in (LISTED, EVENTS, PLAIN)]  # type: ignore[return-value]
    finally:
        await conn.close()


def _rows_sqlite(path: Path) -> tuple[list[Any], list[Any], list[Any]]:
    conn = sqlite3.connect(path)
    try:
        return tuple(conn.execute(sql).fetchall() for sql in (LISTED, EVENTS, PLAIN))  # type: ignore[return-value]
    finally:
        conn.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_payment_with_its_event_writes_its_row_and_its_events(backend: str, request: pytest.FixtureRequest):
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "baseline.db"
        app = Baseline(str(path), None, instructions.SECRET_KEY)
    else:
        url = request.getfixturevalue("postgres_url")
        app = Baseline(None, url, instructions.SECRET_KEY)
    with_events, plain = asyncio.run(_pay(app))
    if backend == "sqlite":
        listed, events, payments = _rows_sqlite(path)
    else:
        listed, events, payments = asyncio.run(_rows_postgres(url))

    assert [status for status, _ in with_events] == [200, 200, 200] and plain[0] == 200
    answers = [orjson.loads(body) for _, body in with_events]
    ids = [answer["id"] for answer in answers]
    # Numbered in their lists on SQLite; on PostgreSQL inserted unnumbered, as the server does.
    positions = [1, 2, 3] if backend == "sqlite" else [None, None, None]
    numbered = list(zip(ids, positions, strict=True))
    assert [tuple(row) for row in listed] == [(i, MERCHANT, MODE, "captured", n) for i, n in numbered]
    assert [tuple(row[:5]) for row in events] == [(MERCHANT, MODE, "payment.captured", i, n) for i, n in numbered]
    for (*_, doc), answer in zip(events, answers, strict=True):
        event = orjson.loads(bytes(doc))
        assert event["resource"] == "event" and event["type"] == "payment.captured"
        assert event["data"] == answer  # the payment as it was answered
    # The plain POST, the goals' baseline, still writes its one row and nothing else.
    assert [row[0] for row in payments] == [orjson.loads(plain[1])["id"]]
