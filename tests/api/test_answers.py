"""Idempotent POSTs whose answer is stored with their change (services.answers), over real
HTTP on SQLite and PostgreSQL: the repeat gets the first answer byte for byte, and the change
is not made again."""

from __future__ import annotations

import uuid

import httpx

from tests.api.payment_support import card

KEY = "X-KOMOJU-IDEMPOTENCY"
REPLAYED = "Idempotent-Replayed"


def twice(client: httpx.Client, path: str, json: dict | None = None) -> httpx.Response:
    """POSTs the same request twice under one key; checks the second is the first, replayed."""
    headers = {KEY: "key-" + uuid.uuid4().hex}
    first = client.post(path, json=json, headers=headers)
    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    again = client.post(path, json=json, headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers[REPLAYED] == "true"
    return first


def total(client: httpx.Client, path: str) -> int:
    return client.get(path).json()["total"]


def test_customers_and_tokens(merchant_api):
    twice(merchant_api, "/customers", {"payment_details": card(), "email": "a@example.com"})
    assert total(merchant_api, "/customers") == 1
    assert total(merchant_api, "/events") == 1  # one customer.created
    token = twice(merchant_api, "/tokens", {"payment_details": card()}).json()
    assert token["id"].startswith("tok_")


def test_subscriptions(merchant_api):
    customer = merchant_api.post("/customers", json={"payment_details": card()}).json()
    body = {"customer": customer["id"], "amount": 1000, "currency": "JPY", "period": "monthly"}
    subscription = twice(merchant_api, "/subscriptions", body).json()
    assert subscription["status"] == "active"
    assert total(merchant_api, "/subscriptions") == 1
    assert total(merchant_api, "/payments") == 1  # one first charge


def test_webhooks_and_redelivery(merchant_api):
    hook = twice(merchant_api, "/webhooks", {"url": "http://127.0.0.1:9/hook", "secret_token": "s"}).json()
    assert total(merchant_api, "/webhooks") == 1
    (ping,) = merchant_api.get("/events").json()["data"]
    assert twice(merchant_api, f"/events/{ping['id']}/redeliver").json()["id"] == ping["id"]
    # The ping's first delivery and one redelivery: the repeat sent nothing again.
    assert total(merchant_api, f"/webhooks/{hook['id']}/deliveries") == 2


def test_sandbox_clock_and_maintenance(merchant_api):
    seconds = 3600
    moved = twice(merchant_api, "/sandbox/clock/advance", {"seconds": seconds}).json()
    assert moved["offset"] == seconds
    assert merchant_api.get("/sandbox/clock").json()["offset"] == seconds  # moved once
    assert twice(merchant_api, "/sandbox/maintenance", {"enabled": True}).json()["enabled"] is True
    assert twice(merchant_api, "/sandbox/maintenance", {"enabled": False}).json()["enabled"] is False
    assert merchant_api.get("/customers").status_code == 200


def test_an_error_after_no_change_is_still_kept_and_replayed(merchant_api):
    headers = {KEY: "key-" + uuid.uuid4().hex}
    first = merchant_api.post("/customers", json={"email": "not an email"}, headers=headers)
    assert first.status_code == 422
    again = merchant_api.post("/customers", json={"email": "not an email"}, headers=headers)
    assert (again.status_code, again.content, again.headers[REPLAYED]) == (422, first.content, "true")


def test_payments_and_their_actions(merchant_api):
    paid = twice(merchant_api, "/payments", {"amount": 1000, "currency": "JPY", "payment_details": card()}).json()
    assert total(merchant_api, "/payments") == 1
    refunded = twice(merchant_api, f"/payments/{paid['id']}/refund", {"amount": 100}).json()
    assert refunded["amount_refunded"] == 100 and len(refunded["refunds"]) == 1
    assert merchant_api.get(f"/payments/{paid['id']}").json()["amount_refunded"] == 100  # refunded once
    body = {"amount": 1000, "currency": "JPY", "capture": False, "payment_details": card()}
    authorized = merchant_api.post("/payments", json=body).json()
    assert twice(merchant_api, f"/payments/{authorized['id']}/capture").json()["status"] == "captured"
    other = merchant_api.post("/payments", json=body).json()
    assert twice(merchant_api, f"/payments/{other['id']}/cancel").json()["status"] == "cancelled"
    types = [event["type"] for event in merchant_api.get("/events", params={"per_page": 100}).json()["data"]]
    assert types.count("payment.captured") == 2 and types.count("payment.cancelled") == 1
    assert types.count("payment.refund.created") == 1
