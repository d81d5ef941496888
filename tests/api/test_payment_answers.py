"""Two hosts on one PostgreSQL database: a payment one host has answered, then refunded on the
other, is shown and listed refunded by the first (services/payment_answers.py keeps answers by
row version, and every read fetches the row)."""

from __future__ import annotations

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030, "verification_value": "123"}


def test_a_payment_refunded_on_another_host_is_shown_refunded(hosts):
    a, b = hosts
    with a.client(a.secret_key) as on_a, b.client(b.secret_key) as on_b:
        made = on_a.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD})
        assert made.status_code == 200, made.text
        pid = made.json()["id"]
        for _ in range(2):  # answered, then answered again from what host A kept
            assert on_a.get(f"/payments/{pid}").json() == made.json()
            assert on_a.get("/payments").json()["data"] == [made.json()]

        refunded = on_b.post(f"/payments/{pid}/refund", json={"amount": 300})
        assert refunded.status_code == 200, refunded.text
        assert (refunded.json()["status"], refunded.json()["amount_refunded"]) == ("captured", 300)

        assert on_a.get(f"/payments/{pid}").json() == refunded.json()
        assert on_a.get("/payments").json()["data"] == [refunded.json()]
