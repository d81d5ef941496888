"""Errors that explain themselves: the `details` object names the rule a refused value broke.

Each kind of rule is pinned here with its exact details; errors no rule can explain have no
`details` key at all (as the API document's own error example prints it).
"""

from __future__ import annotations

from typing import Any

import httpx

from komoju_server.methods.catalogue import TYPES
from tests.api.payment_support import card, konbini

KONBINI_STORES = ["seven-eleven", "lawson", "family-mart", "ministop", "daily-yamazaki", "seicomart"]


def refused(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def pay(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/payments", json={"amount": 1000, "currency": "JPY", **fields})


def test_a_number_out_of_range_names_the_range(merchant_api):
    error = refused(pay(merchant_api, payment_details=konbini(expiry_days=60)))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of payment_details[expiry_days] is invalid",
        "param": "payment_details[expiry_days]",
        "details": {"rule": "range", "min": 0, "max": 59},
    }


def test_an_amount_that_is_no_amount_names_the_range(merchant_api):
    error = refused(merchant_api.post("/payments", json={"amount": "ten", "currency": "JPY"}))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of amount is invalid",
        "param": "amount",
        "details": {"rule": "range", "min": 0, "max": 9999999},
    }


def test_a_store_that_does_not_exist_lists_the_stores(merchant_api):
    error = refused(pay(merchant_api, payment_details=konbini(store="corner-shop")))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of payment_details[store] is invalid",
        "param": "payment_details[store]",
        "details": {"rule": "one_of", "accepted": KONBINI_STORES},
    }


def test_a_locale_that_does_not_exist_lists_the_locales(merchant_api):
    error = refused(pay(merchant_api, payment_details=konbini(), locale="fr"))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of locale is invalid",
        "param": "locale",
        "details": {"rule": "one_of", "accepted": ["ja", "en", "ko"]},
    }


def test_a_currency_the_method_does_not_take_lists_the_ones_it_does(merchant_api):
    error = refused(
        merchant_api.post("/payments", json={"amount": 1000, "currency": "USD", "payment_details": konbini()})
    )
    assert error == {
        "code": "invalid_currency",
        "message": "The currency you requested is invalid.",
        "param": "currency",
        "details": {"rule": "one_of", "accepted": ["JPY"]},
    }


def test_an_unknown_payment_type_lists_the_types(merchant_api):
    error = refused(pay(merchant_api, payment_details={"type": "barter"}))
    assert error["code"] == "invalid_payment_type"
    assert error["param"] == "payment_details[type]"
    assert error["details"] == {"rule": "one_of", "accepted": list(TYPES)}


def test_an_amount_over_the_methods_limit_names_the_limit(merchant_api):
    # 300,000 yen and its 10% tax: 330,000, past konbini's 300,000.
    error = refused(
        merchant_api.post("/payments", json={"amount": 300000, "currency": "JPY", "payment_details": konbini()})
    )
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of amount is invalid",
        "param": "amount",
        "details": {"rule": "limit", "min": 1, "max": 300000, "currency": "JPY"},
    }


def test_text_too_long_names_the_length(merchant_api):
    error = refused(pay(merchant_api, payment_details=konbini(), external_order_num="x" * 256))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of external_order_num is invalid",
        "param": "external_order_num",
        "details": {"rule": "length", "max": 255},
    }


def test_a_value_of_the_wrong_form_names_the_form(merchant_api):
    error = refused(pay(merchant_api, payment_details=konbini(email="not an address")))
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of payment_details[email] is invalid",
        "param": "payment_details[email]",
        "details": {"rule": "format", "expected": "email", "max_length": 255},
    }


def test_a_bad_card_number_names_the_form_and_never_echoes_it(merchant_api):
    response = pay(merchant_api, payment_details=card("4111111111111112"))
    error = refused(response)
    assert error == {
        "code": "invalid_parameter",
        "message": "The value of payment_details[number] is invalid",
        "param": "payment_details[number]",
        "details": {"rule": "format", "expected": "card_number", "min_length": 12, "max_length": 19},
    }
    assert "4111111111111112" not in response.text


def test_errors_with_no_rule_to_tell_have_no_details(merchant_api):
    missing = refused(merchant_api.post("/payments", json={"currency": "JPY"}))
    assert missing == {
        "code": "missing_parameter",
        "message": "A required parameter (amount) is missing",
        "param": "amount",
    }
    not_found = refused(merchant_api.get("/payments/nosuchpayment0000000000000"), status=404)
    assert "details" not in not_found
    not_allowed = refused(merchant_api.delete("/payments"), status=405)
    assert "details" not in not_allowed
