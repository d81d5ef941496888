"""The sandbox's test inputs served in process: every test card and every prepaid test number."""

from __future__ import annotations

import pytest

from komoju_server.processors import test_inputs
from tests.api.payment_support import card, count, error, order_num, pay, prepaid

# number -> brand on success, or the KOMOJU error code of its decline (the API document's
# list, plus what KOMOJU's current public catalogue adds).
SUCCESS_CARDS = {
    "3530111333300000": "jcb",
    "378282246310005": "american_express",
    "4111111111111111": "visa",
    "5555555555554444": "master",
    "30569309025904": "diners_club",
    "4100000000000100": "visa",
    "5100000000000107": "master",
    "3528000000000106": "jcb",
}
DECLINE_CARDS = {
    "4123111111111000": "insufficient_funds",
    "4123111111111018": "exceeds_limit",
    "4123111111111034": "bad_verification_value",
    "4123111111111042": "card_expired",
    "4123111111111059": "card_declined",
    "4123111111111067": "other_invalid",
    "4123111111111075": "other_invalid",
}
# The older catalogue's cards that public client suites still pay with (ActiveMerchant's KOMOJU
# gateway tests: a "fraudulent card"), and the status KOMOJU's error table gives their code.
OLDER_DECLINE_CARDS = {"4123111111111083": ("fraudulent", 422)}
# Luhn-valid numbers outside the catalogue succeed, branded by their leading digits.
OTHER_CARDS = {
    "4242424242424242": "visa",
    "5454545454545454": "master",
    "2221000000000009": "master",
    "371449635398431": "american_express",
    "36227206271667": "diners_club",
    "3566002020360505": "jcb",
}
PREPAID_TYPES = ("web_money", "net_cash", "bit_cash", "nanaco", "steam_prepaid_card")
# prepaid type -> number -> decline code
PREPAID_DECLINES = {
    **{
        t: {
            "e111111111111112": "invalid_number",
            "e111111111111113": "used_number",
            "e111111111111114": "card_declined",
            "2222222222222222": "invalid_number",
        }
        for t in ("web_money", "net_cash", "nanaco", "steam_prepaid_card")
    },
    "bit_cash": {
        "e111111111111112": "invalid_number",
        "e111111111111113": "card_declined",
        "2222222222222222": "invalid_number",
    },
}


def test_the_tables_cover_every_card_of_the_processor():
    assert {**SUCCESS_CARDS, **DECLINE_CARDS, **OLDER_DECLINE_CARDS}.keys() == test_inputs.CARDS.keys()


@pytest.mark.parametrize("number", list(SUCCESS_CARDS) + list(OTHER_CARDS))
def test_a_good_card_is_captured_with_its_brand(api, number):
    response = pay(api, card(number, verification_value="123"))
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["status"] == "captured"
    assert got["payment_details"] == {
        "type": "credit_card",
        "email": None,
        "brand": {**SUCCESS_CARDS, **OTHER_CARDS}[number],
        "last_four_digits": number[-4:],
        "month": 1,
        "year": 2030,
    }


@pytest.mark.parametrize("capture", [True, False])
@pytest.mark.parametrize("number", list(DECLINE_CARDS))
def test_a_decline_card_is_a_502_and_records_nothing(api, number, capture):
    order = order_num()
    response = pay(api, card(number), capture=capture, external_order_num=order)
    assert response.status_code == 502
    assert response.json() == error(DECLINE_CARDS[number])
    assert count(api, external_order_num=order) == 0


@pytest.mark.parametrize("capture", [True, False])
@pytest.mark.parametrize("number", list(OLDER_DECLINE_CARDS))
def test_an_older_catalogue_decline_card_is_refused_and_records_nothing(api, number, capture):
    order = order_num()
    code, status = OLDER_DECLINE_CARDS[number]
    response = pay(api, card(number), capture=capture, external_order_num=order)
    assert response.status_code == status
    assert response.json() == {"error": {"code": "fraudulent", "message": "This payment is fraudulent.", "param": None}}
    assert response.json() == error(code)
    assert count(api, external_order_num=order) == 0


def test_an_older_catalogue_card_is_refused_through_a_token_too(api):
    token = api.post("/tokens", json={"payment_details": card("4123111111111083")})
    assert token.status_code == 200, token.text
    response = pay(api, token.json()["id"])
    assert response.status_code == 422
    assert response.json() == error("fraudulent")


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", " 4111111111111111 ", 4111111111111111],
)
def test_card_numbers_may_carry_spaces_and_dashes_or_come_as_numbers(api, number):
    response = pay(api, card(number))
    assert response.status_code == 200, response.text
    assert response.json()["payment_details"]["last_four_digits"] == "1111"


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # Luhn fails
        "4123111111111001",  # Luhn fails next to a test card
        "5555555555554445",
        "41111111111",  # too short
        "41111111111111111113",  # 20 digits
        "4111x11111111111",
        "４１１１１１１１１１１１１１１１",
        "0",
    ],
)
def test_a_bad_card_number_is_invalid(api, number):
    order = order_num()
    response = pay(api, card(number), external_order_num=order)
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "payment_details[number]")
    assert count(api, external_order_num=order) == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("month", 0),
        ("month", 13),
        ("month", "Jan"),
        ("year", "20x5"),
        ("year", 2101),
        ("verification_value", "12"),
        ("verification_value", "12345"),
        ("verification_value", "abc"),
    ],
)
def test_bad_card_fields_are_invalid(api, name, value):
    response = pay(api, {**card(), name: value})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", f"payment_details[{name}]")


@pytest.mark.parametrize(("month", "year", "shown"), [("01", "2025", (1, 2025)), (12, 25, (12, 2025))])
def test_the_expiry_date_does_not_decide_in_test_mode(api, month, year, shown):
    got = pay(api, {**card(), "month": month, "year": year}).json()
    assert got["status"] == "captured"
    assert (got["payment_details"]["month"], got["payment_details"]["year"]) == shown


# -- prepaid -------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", PREPAID_TYPES)
def test_the_good_prepaid_number_pays_up_to_its_2000_yen(api, type_):
    response = pay(api, prepaid(type_), amount=1819, tax=181)  # exactly 2000
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["status"], got["total"]) == ("captured", 2000)
    if type_ != "bit_cash":
        assert got["payment_details"]["prepaid_cards"] == [{"last_four_digits": "1111", "points": 2000}]
        assert got["payment_details"]["short_amount"] == 0


@pytest.mark.parametrize("type_", PREPAID_TYPES)
def test_one_yen_over_the_balance(api, type_):
    order = order_num()
    response = pay(api, prepaid(type_), amount=1819, tax=182, external_order_num=order)  # 2001
    if type_ == "bit_cash":  # BitCash cannot go on with another card
        assert response.status_code == 502
        assert response.json() == error("insufficient_funds")
        assert count(api, external_order_num=order) == 0
    else:
        assert response.status_code == 202
        got = response.json()
        assert got["status"] == "pending"
        assert got["payment_details"]["short_amount"] == 1
        assert got["payment_details"]["prepaid_cards"] == [{"last_four_digits": "1111", "points": 2000}]
        assert count(api, external_order_num=order) == 1


@pytest.mark.parametrize(("type_", "number"), [(t, n) for t, numbers in PREPAID_DECLINES.items() for n in numbers])
def test_prepaid_decline_numbers(api, type_, number):
    order = order_num()
    response = pay(api, prepaid(type_, number), external_order_num=order)
    assert response.status_code == 502
    assert response.json() == error(PREPAID_DECLINES[type_][number])
    assert count(api, external_order_num=order) == 0


@pytest.mark.parametrize(
    ("type_", "number"),
    [(t, n) for t in PREPAID_TYPES for n in ("111111111111111", "e11111111111111!", "")]
    + [("web_money", "1" * 17), ("net_cash", "1" * 21), ("nanaco", "1" * 17), ("steam_prepaid_card", "1" * 17)],
)
def test_a_malformed_prepaid_number_is_invalid(api, type_, number):
    response = pay(api, prepaid(type_, number))
    assert response.status_code == 422
    code = "missing_parameter" if number == "" else "invalid_parameter"
    assert response.json() == error(code, "payment_details[prepaid_number]")


def test_net_cash_takes_numbers_of_16_to_20_characters(api):
    response = pay(api, prepaid("net_cash", "1" * 20))
    assert response.status_code == 502  # well-formed, but not a test number
    assert response.json() == error("invalid_number")
