"""/subscriptions served in process on both databases: the first charge at creation, one charge
per period on the merchant's clock, failures, retries and suspension, deletion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.api.payment_support import ID, JST, TIME, error, parse_time
from tests.api.test_sandbox import DAY, advance, events, plus

GOOD_CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030, "email": "a@example.com"}
DECLINING_CARD = {**GOOD_CARD, "number": "4123111111111059"}
# KOMOJU shows the card on a subscription with its expiry as strings (its reference's example
# and current schema); the brand and last four digits are the payment's.
CARD_SHOWN = {
    "type": "credit_card",
    "email": "a@example.com",
    "brand": "visa",
    "last_four_digits": "1111",
    "month": "12",
    "year": "2030",
}
WEEK = 7 * DAY


def customer(client: httpx.Client, details: dict[str, Any] = GOOD_CARD) -> str:
    response = client.post("/customers", json={"payment_details": details})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def change_card(client: httpx.Client, customer_id: str, details: dict[str, Any]) -> None:
    response = client.patch(f"/customers/{customer_id}", json={"payment_details": details})
    assert response.status_code == 200, response.text


def subscribe(client: httpx.Client, customer_id: str, period: str = "weekly", **extra: Any) -> httpx.Response:
    body = {"customer": customer_id, "amount": 2000, "currency": "JPY", "period": period, **extra}
    return client.post("/subscriptions", json=body)


def subscribed(client: httpx.Client, customer_id: str, period: str = "weekly", **extra: Any) -> dict[str, Any]:
    response = subscribe(client, customer_id, period, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def show(client: httpx.Client, subscription_id: str) -> dict[str, Any]:
    response = client.get(f"/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    return response.json()


def types(client: httpx.Client, prefix: str = "subscription.") -> list[str]:
    return [e["type"] for e in events(client) if e["type"].startswith(prefix)]


def one_month_later(moment: str) -> str:
    start = parse_time(moment).astimezone(JST)
    year, month = divmod(start.month, 12)
    return (start.replace(year=start.year + year, month=month + 1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_create_makes_the_first_charge(merchant, merchant_api):
    customer_id = customer(merchant_api)
    response = subscribe(merchant_api, customer_id, "monthly", metadata={"plan": "gold"})
    assert response.status_code == 200
    subscription = response.json()
    made = merchant_api.get(f"/customers/{customer_id}").json()
    assert subscription == {
        "id": ID,
        "resource": "subscription",
        "status": "active",
        "amount": 2000,
        "currency": "JPY",
        # The customer's record, as KOMOJU embeds it; this server's ids stand for its numeric ones.
        "customer": {
            "id": customer_id,
            "uuid": customer_id,
            "merchant_id": merchant["merchant_id"],
            "created_at": made["created_at"],
            "updated_at": made["created_at"],
            "email": None,
            "currency": None,
            "metadata": {},
            "locale": None,
            "name": None,
            "phone": None,
            "archived_at": None,
        },
        "period": "monthly",
        "day": parse_time(subscription["created_at"]).astimezone(JST).day,
        "payment_details": CARD_SHOWN,
        "retry_count": 0,
        "retry_at": None,
        "next_capture_at": TIME,
        "created_at": TIME,
        "ended_at": None,
        "metadata": {"plan": "gold"},
        "payments": [ID],
    }
    if subscription["day"] <= 28:  # a 29th-31st would be clamped in shorter months
        assert subscription["next_capture_at"] == one_month_later(subscription["created_at"])
    payment = merchant_api.get(f"/payments/{subscription['payments'][0]}").json()
    assert payment["status"] == "captured"
    assert (payment["amount"], payment["currency"], payment["customer"]) == (2000, "JPY", customer_id)
    assert payment["subscription"] == subscription["id"]
    assert payment["created_at"] == subscription["created_at"]
    assert [e["type"] for e in events(merchant_api)[-3:]] == [
        "payment.captured",
        "subscription.created",
        "subscription.captured",
    ]
    assert events(merchant_api)[-1]["data"] == subscription
    assert show(merchant_api, subscription["id"]) == subscription


def test_list_and_show(merchant_api, api):
    customer_id = customer(merchant_api)
    first = subscribed(merchant_api, customer_id)
    second = subscribed(merchant_api, customer_id, "yearly")
    listed = merchant_api.get("/subscriptions").json()
    assert listed == {
        "resource": "list",
        "total": 2,
        "page": 1,
        "per_page": 10,
        "last_page": 1,
        "data": [second, first],
    }
    assert merchant_api.get("/subscriptions", params={"per_page": 1, "page": 2}).json()["data"] == [first]
    for client, subscription_id in ((merchant_api, "nosuchsubscription00000000"), (api, first["id"])):
        response = client.get(f"/subscriptions/{subscription_id}")
        assert response.status_code == 404
        assert response.json() == error("not_found")


def test_create_refuses_bad_requests(merchant_api):
    customer_id = customer(merchant_api)
    base = {"customer": customer_id, "amount": 2000, "currency": "JPY", "period": "weekly"}
    for name in ("customer", "amount", "currency", "period"):
        body = {k: v for k, v in base.items() if k != name}
        response = merchant_api.post("/subscriptions", json=body)
        assert response.status_code == 422, name
        assert response.json() == error("missing_parameter", name)
    cases = [
        ({"period": "daily"}, error("invalid_parameter", "period")),
        ({"amount": "abc"}, error("invalid_parameter", "amount")),
        ({"currency": "XYZ"}, error("invalid_currency", "currency")),
        ({"customer": "nosuchcustomer00000000000"}, error("invalid_parameter", "customer")),
        ({"metadata": "nope"}, error("invalid_parameter", "metadata")),
    ]
    for change, expected in cases:
        response = merchant_api.post("/subscriptions", json={**base, **change})
        assert response.status_code == 422, change
        assert response.json() == expected
    konbini_customer = customer(merchant_api, {"type": "konbini", "store": "lawson", "email": "a@example.com"})
    response = subscribe(merchant_api, konbini_customer)
    assert response.json() == error(
        "invalid_parameter",
        "customer",
        "Subscriptions charge credit cards: this customer's payment details are not a credit card.",
    )
    assert merchant_api.get("/subscriptions").json()["total"] == 0


def test_a_declined_first_charge_creates_nothing(merchant_api):
    response = subscribe(merchant_api, customer(merchant_api, DECLINING_CARD))
    assert response.status_code == 502
    assert response.json() == error("card_declined")
    assert merchant_api.get("/subscriptions").json()["total"] == 0
    assert merchant_api.get("/payments").json()["total"] == 0
    assert types(merchant_api) == []


def test_one_charge_per_period_on_the_merchants_clock(merchant_api):
    subscription = subscribed(merchant_api, customer(merchant_api))
    start = subscription["created_at"]
    assert advance(merchant_api, 3 * WEEK + DAY).status_code == 200
    now = show(merchant_api, subscription["id"])
    assert now["status"] == "active"
    assert len(now["payments"]) == 4
    assert now["payments"][0] == subscription["payments"][0]
    assert now["next_capture_at"] == plus(start, 4 * WEEK)
    charges = [merchant_api.get(f"/payments/{p}").json() for p in now["payments"]]
    assert [p["created_at"] for p in charges] == [plus(start, k * WEEK) for k in range(4)]
    assert {(p["status"], p["amount"], p["subscription"]) for p in charges} == {("captured", 2000, now["id"])}
    captured = [e for e in events(merchant_api) if e["type"] == "subscription.captured"]
    assert [e["created_at"] for e in captured] == [plus(start, k * WEEK) for k in range(4)]
    assert captured[-1]["data"] == now


def test_a_failed_charge_is_retried_daily_then_the_subscription_is_suspended(merchant_api):
    customer_id = customer(merchant_api)
    subscription = subscribed(merchant_api, customer_id)
    start = subscription["created_at"]
    change_card(merchant_api, customer_id, DECLINING_CARD)

    advance(merchant_api, WEEK)
    failing = show(merchant_api, subscription["id"])
    assert failing == {
        **subscription,
        "status": "retrying",
        "retry_count": 0,
        "retry_at": plus(start, WEEK + DAY),
        "next_capture_at": plus(start, 2 * WEEK),
    }
    assert types(merchant_api) == ["subscription.created", "subscription.captured", "subscription.failed"]

    advance(merchant_api, 2 * DAY)
    assert show(merchant_api, subscription["id"])["retry_count"] == 2
    advance(merchant_api, DAY)
    suspended = show(merchant_api, subscription["id"])
    assert suspended == {
        **subscription,
        "status": "suspended",
        "retry_count": 3,
        "retry_at": None,
        "next_capture_at": None,
        "ended_at": plus(start, WEEK + 3 * DAY),
    }
    assert types(merchant_api)[2:] == ["subscription.failed"] * 4 + ["subscription.suspended"]
    failed_at = [e["created_at"] for e in events(merchant_api) if e["type"] == "subscription.failed"]
    assert failed_at == [plus(start, WEEK + k * DAY) for k in range(4)]
    assert events(merchant_api)[-1]["data"] == suspended

    change_card(merchant_api, customer_id, GOOD_CARD)
    advance(merchant_api, 4 * WEEK)  # a suspended subscription charges no more
    assert show(merchant_api, subscription["id"]) == suspended
    assert merchant_api.get("/payments").json()["total"] == 1


def test_a_retry_that_succeeds_puts_the_subscription_back_on_schedule(merchant_api):
    customer_id = customer(merchant_api)
    subscription = subscribed(merchant_api, customer_id)
    start = subscription["created_at"]
    change_card(merchant_api, customer_id, DECLINING_CARD)
    advance(merchant_api, WEEK)
    assert show(merchant_api, subscription["id"])["status"] == "retrying"
    change_card(merchant_api, customer_id, {**GOOD_CARD, "number": "5555555555554444"})
    advance(merchant_api, DAY)
    back = show(merchant_api, subscription["id"])
    assert back["status"] == "active"
    assert (back["retry_count"], back["retry_at"]) == (0, None)
    assert back["next_capture_at"] == plus(start, 2 * WEEK)
    assert back["payment_details"] == {**CARD_SHOWN, "brand": "master", "last_four_digits": "4444"}
    retried = merchant_api.get(f"/payments/{back['payments'][-1]}").json()
    assert (len(back["payments"]), retried["created_at"]) == (2, plus(start, WEEK + DAY))
    assert types(merchant_api)[-2:] == ["subscription.failed", "subscription.captured"]


def test_delete_stops_the_charges(merchant_api):
    subscription = subscribed(merchant_api, customer(merchant_api))
    response = merchant_api.delete(f"/subscriptions/{subscription['id']}")
    assert response.status_code == 200
    deleted = response.json()
    assert deleted == {**subscription, "status": "deleted", "next_capture_at": None, "ended_at": TIME}
    assert parse_time(deleted["ended_at"]) >= parse_time(subscription["created_at"])
    assert events(merchant_api)[-1]["type"] == "subscription.deleted"
    assert events(merchant_api)[-1]["data"] == deleted
    advance(merchant_api, 2 * WEEK)
    assert show(merchant_api, subscription["id"]) == deleted
    again = merchant_api.delete(f"/subscriptions/{subscription['id']}")
    assert again.status_code == 200 and again.json() == deleted
    assert types(merchant_api).count("subscription.deleted") == 1
    assert merchant_api.get("/payments").json()["total"] == 1
    missing = merchant_api.delete("/subscriptions/nosuchsubscription00000000")
    assert missing.status_code == 404


def test_reset_erases_subscriptions(merchant_api):
    subscribed(merchant_api, customer(merchant_api))
    erased = merchant_api.post("/sandbox/reset").json()["erased"]
    assert (erased["subscriptions"], erased["timers"]) == (1, 1)
    assert merchant_api.get("/subscriptions").json()["total"] == 0


def test_a_customer_changed_to_another_method_fails_the_charge_and_pays_nothing(merchant_api):
    customer_id = customer(merchant_api)
    subscription = subscribed(merchant_api, customer_id)
    change_card(merchant_api, customer_id, {"type": "konbini", "store": "lawson", "email": "a@example.com"})
    assert advance(merchant_api, WEEK + 60).status_code == 200
    now = show(merchant_api, subscription["id"])
    assert now["status"] == "retrying"
    assert now["payments"] == subscription["payments"]  # still only the first charge
    assert merchant_api.get("/payments").json()["total"] == 1
    assert types(merchant_api)[-1] == "subscription.failed"
