"""POST /payments/:id/capture with `amount` and `tax`: partial capture, served in process on both
databases.

An authorized card payment may be captured whole (no body) or in part: `amount` (before tax) up
to the authorized amount, `tax` a number, `auto`, or omitted (the authorized tax, or its share
of a smaller amount, rounded half up). What is not captured is released: the payment answers
the captured amount, tax and total, and refunds are bounded by them.

These tests ask for API version 2025-01-28, where a partial capture is shown as such (the
captured amounts, and `captures`); the default version's view of it, the authorized amount with
the released rest as a refund, is in test_versions.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.payment_support import ID, TIME, card, created, error, konbini, refund_object
from tests.inprocess import InProcessServer

VERSION = {"X-KOMOJU-API-VERSION": "2025-01-28"}


@pytest.fixture
def api(server: InProcessServer) -> Iterator[httpx.Client]:
    with server.client(server.secret_key, headers=VERSION) as client:
        yield client


@pytest.fixture
def merchant_api(server: InProcessServer, merchant: dict[str, str]) -> Iterator[httpx.Client]:
    with server.client(merchant["test_secret_key"], headers=VERSION) as client:
        yield client


def authorized(client: httpx.Client, amount: int = 1000, **extra: Any) -> dict[str, Any]:
    payment = created(client, card(), amount=amount, capture=False, **extra)
    assert payment["status"] == "authorized"
    return payment


def capture(client: httpx.Client, payment: dict[str, Any], **body: Any) -> httpx.Response:
    return client.post(f"/payments/{payment['id']}/capture", json=body)


def captured_as(payment: dict[str, Any], amount: int, tax: int) -> dict[str, Any]:
    """The payment once captured for `amount` and `tax`: everything else as it was authorized."""
    return {
        **payment,
        "status": "captured",
        "captured_at": TIME,
        "amount": amount,
        "tax": tax,
        "total": amount + tax,
        "captures": [
            {"amount": amount, "tax": tax, "total": amount + tax, "currency": payment["currency"], "captured_at": TIME}
        ],
    }


@pytest.mark.parametrize(
    ("body", "amount", "tax"),
    [
        ({}, 1000, 100),  # everything
        ({"amount": 1000}, 1000, 100),
        ({"amount": 600}, 600, 60),  # the authorized tax's share
        ({"amount": "600"}, 600, 60),
        ({"amount": 600.0}, 600, 60),
        ({"amount": 600, "tax": 0}, 600, 0),
        ({"amount": 600, "tax": "12.5"}, 600, 13),  # rounded half up, as at creation
        ({"amount": 601, "tax": "auto"}, 601, 60),
        ({"amount": 999}, 999, 100),  # 99.9 rounds to 100
        ({"amount": 1}, 1, 0),  # 0.1 rounds to 0
        ({"amount": 5}, 5, 1),  # 0.5 rounds up
        ({"tax": 50}, 1000, 50),  # the whole amount, less tax
        ({"amount": None, "tax": None}, 1000, 100),  # nulls are omitted values
        ({"amount": "", "tax": ""}, 1000, 100),
        ({"amount": 1000, "tax": 100}, 1000, 100),
    ],
)
def test_a_capture_takes_what_it_is_told_and_answers_it(api, body, amount, tax):
    payment = authorized(api)
    response = capture(api, payment, **body)
    assert response.status_code == 200, response.text
    assert response.json() == captured_as(payment, amount, tax)
    assert api.get(f"/payments/{payment['id']}").json() == response.json()


def test_a_capture_form_encoded_is_the_same(api):
    payment = authorized(api)
    response = api.post(f"/payments/{payment['id']}/capture", data={"amount": "700", "tax": "70"})
    assert (response.status_code, response.json()) == (200, captured_as(payment, 700, 70))


def test_the_tax_of_a_payment_made_without_tax_stays_zero(api):
    payment = authorized(api, tax=0)
    assert (payment["tax"], payment["total"]) == (0, 1000)
    assert capture(api, payment, amount=400).json() == captured_as(payment, 400, 0)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": 1001}, "amount"),
        ({"amount": 1001, "tax": 0}, "amount"),  # within the total, but more than the amount authorized
        ({"amount": 9_999_999}, "amount"),
        ({"amount": 1000, "tax": 101}, "tax"),
        ({"tax": 101}, "tax"),
        ({"amount": 0}, "amount"),  # below the card's minimum total of 1
        ({"amount": 0, "tax": 0}, "amount"),
    ],
)
def test_more_than_was_authorized_or_nothing_is_not_capturable_and_changes_nothing(api, body, param):
    payment = authorized(api)
    response = capture(api, payment, **body)
    assert (response.status_code, response.json()) == (422, error("not_capturable", param))
    assert api.get(f"/payments/{payment['id']}").json() == payment
    assert capture(api, payment).json() == captured_as(payment, 1000, 100)  # still capturable


def test_auto_tax_past_an_authorization_without_tax_is_not_capturable(api):
    payment = authorized(api, tax=0)
    response = capture(api, payment, amount=1000, tax="auto")
    assert (response.status_code, response.json()) == (422, error("not_capturable", "tax"))
    assert capture(api, payment, amount=900, tax="auto").json() == captured_as(payment, 900, 90)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": "10.5"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": [600]}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"amount": 600, "tax": "ten"}, "tax"),
        ({"amount": 600, "tax": -1}, "tax"),
        ({"amount": 600, "tax": {"a": 1}}, "tax"),
    ],
)
def test_a_bad_amount_or_tax_is_invalid(api, body, param):
    payment = authorized(api)
    response = capture(api, payment, **body)
    assert (response.status_code, response.json()) == (422, error("invalid_parameter", param))
    assert api.get(f"/payments/{payment['id']}").json() == payment


def test_whether_a_payment_can_be_captured_is_said_before_its_amount(api):
    paid = created(api, card())
    assert capture(api, paid, amount=99_999).json() == error("not_capturable")
    slip = created(api, konbini())
    assert capture(api, slip, amount=1).json() == error("not_capturable")
    payment = authorized(api)
    assert capture(api, payment, amount=500).status_code == 200
    assert capture(api, payment, amount=100).json() == error("not_capturable")  # captured once only


def test_refunds_after_a_partial_capture_are_bounded_by_what_was_captured(api):
    payment = authorized(api)
    pid = payment["id"]
    partial = capture(api, payment, amount=600).json()
    assert partial == captured_as(payment, 600, 60)
    too_much = api.post(f"/payments/{pid}/refund", json={"amount": 661})
    assert (too_much.status_code, too_much.json()) == (422, error("not_refundable", "amount"))
    first = api.post(f"/payments/{pid}/refund", json={"amount": 300})
    assert first.json() == {**partial, "amount_refunded": 300, "refunds": [refund_object(pid, 300)]}
    rest = api.post(f"/payments/{pid}/refund", json={})
    assert rest.status_code == 200
    assert rest.json() == {
        **partial,
        "status": "refunded",
        "amount_refunded": 660,
        "refunds": [refund_object(pid, 300), refund_object(pid, 360)],
    }
    assert api.post(f"/payments/{pid}/refund", json={"amount": 1}).json() == error("not_refundable")


def test_a_whole_refund_after_a_partial_capture_is_what_was_captured(api):
    payment = authorized(api, amount=5000)
    capture(api, payment, amount=1234, tax=0)
    refunded = api.post(f"/payments/{payment['id']}/refund").json()
    assert (refunded["status"], refunded["amount_refunded"], refunded["total"]) == ("refunded", 1234, 1234)


def test_a_partial_capture_event_holds_the_captured_payment(merchant_api):
    payment = authorized(merchant_api)
    partial = capture(merchant_api, payment, amount=250).json()
    assert (partial["amount"], partial["tax"], partial["total"]) == (250, 25, 275)
    listed = merchant_api.get("/events", params={"per_page": 2}).json()["data"]
    # Events hold the captured payment, without 2025-01-28's `captures` (versions.EVENTS).
    assert [(e["type"], e["data"]) for e in listed] == [
        ("payment.captured", {k: v for k, v in partial.items() if k != "captures"}),
        ("payment.authorized", {k: v for k, v in payment.items() if k != "captures"}),
    ]


def test_a_partial_capture_is_replayed_under_its_idempotency_key(api):
    payment = authorized(api)
    headers = {"X-KOMOJU-IDEMPOTENCY": "capture-" + uuid.uuid4().hex}
    path = f"/payments/{payment['id']}/capture"
    first = api.post(path, json={"amount": 400}, headers=headers)
    again = api.post(path, json={"amount": 400}, headers=headers)
    other = api.post(path, json={"amount": 500}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == captured_as(payment, 400, 40)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "unprocessable_entity")


def test_a_partial_capture_of_a_usd_payment_keeps_cents(api):
    payment = created(api, card(), amount=2599, currency="USD", tax=260, capture=False)
    response = capture(api, payment, amount=1999)
    assert response.json() == {**captured_as(payment, 1999, 200), "currency": "USD"}
    assert payment["id"] == ID
