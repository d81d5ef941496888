"""Bad input on the session endpoints, on both databases: every field of POST /sessions and
POST /sessions/:id/pay gets values of every wrong shape (the sweep of test_bad_input.py), and
each answer is either a success or KOMOJU's envelope naming that field; never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.payment_support import well_formed_details
from tests.api.test_bad_input import BIG_INT, HUGE, LONG, MANY_DIGITS, NOT_TEXT, NUL, encode, short, with_field

VALUES: list[Any] = [*NOT_TEXT, *NUL, HUGE, BIG_INT, LONG, MANY_DIGITS, -1, 1.5, 0, "x", "１０"]
CREATE = {"amount": 1000, "currency": "JPY"}
CREATE_FIELDS = [
    "mode",
    "amount",
    "currency",
    "return_url",
    "default_locale",
    "email",
    "expires_in_seconds",
    "external_customer_id",
    "payment_types",
    "line_items",
    "metadata",
    "payment_data",
    "payment_data[capture]",
    "payment_data[external_order_num]",
    "payment_data[name]",
    "payment_data[name_kana]",
    "payment_data[billing_address]",
    "payment_data[shipping_address]",
]
CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}
PAY_FIELDS = [
    "payment_details",
    "payment_details[type]",
    "payment_details[number]",
    "payment_details[month]",
    "customer_email",
    "fraud_details",
    "capture",
]
CODES = {
    "invalid_parameter",
    "missing_parameter",
    "invalid_currency",
    "invalid_payment_type",
    "invalid_token",
    "bad_request",
}


def problem(response: httpx.Response, field: str) -> str | None:
    """What is wrong with an answer to a body whose `field` holds a bad value (None: fine)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{response.status_code} not JSON: {response.text[:200]}"
    if response.status_code == 200:
        return None
    body = response.json()
    if set(body) != {"error"} or set(body["error"]) - {"details"} != {"code", "message", "param"}:
        return f"{response.status_code} not the envelope: {body}"
    if "details" in body["error"] and not well_formed_details(body["error"]["details"]):
        return f"{response.status_code} details not of the vocabulary: {body}"
    code, param = body["error"]["code"], body["error"]["param"]
    if response.status_code not in (400, 422) or code not in CODES:
        return f"{response.status_code} {code}"
    if code != "bad_request" and not str(param).startswith(field.split("[")[0]):
        return f"{code} names {param!r}, not {field}"
    return None


@pytest.mark.parametrize("field", CREATE_FIELDS)
def test_every_create_field_refuses_wrong_shapes_by_name(merchant_api, field):
    failures = []
    for value in VALUES:
        body = encode(with_field(CREATE, field, value))
        response = merchant_api.post("/sessions", content=body, headers={"Content-Type": "application/json"})
        if (why := problem(response, field)) is not None:
            failures.append(f"{field}={short(value)}: {why}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("field", PAY_FIELDS)
def test_every_pay_field_refuses_wrong_shapes_by_name(merchant_api, field):
    failures = []
    for value in VALUES:
        session = merchant_api.post("/sessions", json=CREATE).json()
        body = encode(with_field({"payment_details": CARD}, field, value))
        response = merchant_api.post(
            f"/sessions/{session['id']}/pay", content=body, headers={"Content-Type": "application/json"}
        )
        if (why := problem(response, field)) is not None:
            failures.append(f"{field}={short(value)}: {why}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "form",
    [
        "amount=1000&currency=JPY&line_items[][amount]=1&line_items=x",
        "amount=1000&currency=JPY&payment_data=x&payment_data[capture]=auto",
        "amount=1000&currency=JPY&payment_types[]=credit_card&payment_types[x]=konbini",
    ],
)
def test_form_garbage_is_a_bad_request(merchant_api, form):
    response = merchant_api.post(
        "/sessions", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_malformed_session_id_is_not_found(merchant_api):
    for path in ("/sessions/ABC", "/sessions/a%00b", "/sessions/a-b/pay", "/sessions/x.y/cancel"):
        method = merchant_api.get if path.count("/") == 2 else merchant_api.post
        response = method(path)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), path
