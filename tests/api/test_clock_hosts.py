"""The sandbox clock on PostgreSQL, where several hosts share one database: a payment made on
one host after the clock was moved on another is dated by the moved clock, although the first
host dates its payments by what it read of the clock before (services/clock.py: the payment's
unit holds on the clock being unmoved, and is made again when it was moved)."""

from __future__ import annotations

import time
from datetime import datetime

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030, "verification_value": "123"}
HOUR = 3600


def seconds_ahead(payment: dict) -> float:
    """How far ahead of real time the payment was dated."""
    return datetime.fromisoformat(payment["created_at"].replace("Z", "+00:00")).timestamp() - time.time()


def test_a_payment_on_one_host_is_dated_by_the_clock_moved_on_another(hosts):
    a, b = hosts
    with a.client(a.secret_key) as on_a, b.client(b.secret_key) as on_b:
        body = {"amount": 1000, "currency": "JPY", "payment_details": CARD}
        before = on_a.post("/payments", json=body)  # host A reads the clock (offset 0) and keeps it
        assert before.status_code == 200, before.text
        assert abs(seconds_ahead(before.json())) < 60

        moved = on_b.post("/sandbox/clock/advance", json={"seconds": HOUR})
        assert moved.status_code == 200 and moved.json()["offset"] == HOUR

        after = [on_a.post("/payments", json=body) for _ in range(2)]
        for answer in after:
            assert answer.status_code == 200, answer.text
            assert abs(seconds_ahead(answer.json()) - HOUR) < 60
        # The attempt made with the old clock left nothing: three payments, three events.
        listed = on_b.get("/payments").json()
        assert listed["total"] == 3
        assert {p["id"] for p in listed["data"]} == {before.json()["id"], *(r.json()["id"] for r in after)}
        events = on_b.get("/events").json()
        assert sorted(e["data"]["id"] for e in events["data"] if e["type"] == "payment.captured") == sorted(
            p["id"] for p in listed["data"]
        )


def test_a_refund_on_one_host_is_dated_by_the_clock_moved_on_another(hosts):
    """A refund (one unit of work in test mode) holds on the clock as a payment does."""
    a, b = hosts
    with a.client(a.secret_key) as on_a, b.client(b.secret_key) as on_b:
        paid = on_a.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD})
        assert paid.status_code == 200, paid.text  # host A read the clock (offset 0) and keeps it

        moved = on_b.post("/sandbox/clock/advance", json={"seconds": HOUR})
        assert moved.status_code == 200 and moved.json()["offset"] == HOUR

        refunded = on_a.post(f"/payments/{paid.json()['id']}/refund", json={"amount": 400})
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["amount_refunded"] == 400
        [refund] = refunded.json()["refunds"]
        assert refund["amount"] == 400
        assert abs(seconds_ahead(refund) - HOUR) < 60
        # The attempt made with the old clock left nothing: one refund, one event of it.
        shown = on_b.get(f"/payments/{paid.json()['id']}").json()
        assert [r["id"] for r in shown["refunds"]] == [refund["id"]]
        events = [e for e in on_b.get("/events").json()["data"] if e["type"] == "payment.refund.created"]
        assert len(events) == 1
        assert abs(seconds_ahead(events[0]) - HOUR) < 60
