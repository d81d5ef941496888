"""Money: currencies, amounts and tax as integers of the lowest denomination."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from komoju_server.domain import money
from komoju_server.domain.errors import ApiError


def refused(call: Any, *args: Any) -> tuple[str, str | None]:
    with pytest.raises(ApiError) as info:
        call(*args)
    return info.value.code, info.value.param


def test_currencies_of_the_schema_with_their_minor_units():
    # KOMOJU's current reference's twenty currencies; JPY, KRW and VND have no minor unit
    assert len(money.CURRENCIES) == 20
    assert {code for code, digits in money.CURRENCIES.items() if digits == 0} == {"JPY", "KRW", "VND"}
    assert {code for code, digits in money.CURRENCIES.items() if digits == 2} == {
        *("USD", "EUR", "TWD", "PLN", "GBP", "HKD", "SGD", "NZD", "AUD", "IDR"),
        *("MYR", "PHP", "THB", "CNY", "BRL", "CHF", "CAD"),
    }


@pytest.mark.parametrize(("given", "code"), [("JPY", "JPY"), ("jpy", "JPY"), ("Usd", "USD"), ("TWD", "TWD")])
def test_currency_codes_are_upper_cased(given, code):
    assert money.currency(given) == code


@pytest.mark.parametrize("given", ["XXX", "ZAR", " JPY", "JP", 392, ["JPY"], {"code": "JPY"}, True])
def test_unknown_currencies_are_invalid_currency(given):
    assert refused(money.currency, given) == ("invalid_currency", "currency")


@pytest.mark.parametrize("given", [None, ""])
def test_a_missing_currency(given):
    assert refused(money.currency, given) == ("missing_parameter", "currency")


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (0, 0),
        (1, 1),
        ("100", 100),
        ("10.0", 10),
        ("10.", 10),
        (" 7 ", 7),
        ("+5", 5),
        (1000.0, 1000),
        (1e3, 1000),
        (9_999_999, 9_999_999),
        ("9999999.000", 9_999_999),
    ],
)
def test_amounts_from_numbers_and_strings(given, want):
    got = money.amount(given)
    assert got == want
    assert type(got) is int


@pytest.mark.parametrize(
    "given",
    [
        -1,
        "-1",
        "-0.5",
        "10.5",
        10.5,
        "0.1",
        "abc",
        "1,000",
        "1_000",
        "１００",
        "1e3",
        "0x10",
        "NaN",
        "Infinity",
        float("nan"),
        float("inf"),
        "",
        " ",
        ".",
        10_000_000,
        "10000000",
        True,
        False,
        None,
        [100],
        {"v": 100},
    ],
)
def test_bad_amounts_are_invalid(given):
    assert refused(money.amount, given) == ("invalid_parameter", "amount")


def test_amount_limit_and_param_can_be_chosen():
    assert money.amount("50", param="refund", most=50) == 50
    assert refused(money.amount, "51", "refund", 50) == ("invalid_parameter", "refund")


@pytest.mark.parametrize(
    ("given", "of_amount", "want"),
    [
        (None, 1000, 100),
        ("", 1000, 100),
        ("auto", 1000, 100),
        ("AUTO", 1000, 100),
        (" auto ", 1000, 100),
        (0, 1000, 0),
        ("0", 1000, 0),
        ("10.0", 1000, 10),
        ("10.4", 1000, 10),
        ("10.5", 1000, 11),
        (10.5, 1000, 11),
        ("2.5", 1000, 3),  # half up, where banker's rounding would give 2
        ("0.49", 1000, 0),
        ("0.5", 1000, 1),
        (9_999_999, 1, 9_999_999),
    ],
)
def test_tax(given, of_amount, want):
    got = money.tax(given, of_amount)
    assert got == want
    assert type(got) is int


@pytest.mark.parametrize("given", [-1, "-1", "abc", "1,0", "1e2", 10_000_000, True, [1], {"a": 1}])
def test_bad_tax_is_invalid(given):
    assert refused(money.tax, given, 1000) == ("invalid_parameter", "tax")


@pytest.mark.parametrize(
    ("of_amount", "want"),
    [
        (0, 0),
        (1, 0),
        (4, 0),
        (5, 1),
        (14, 1),
        (15, 2),
        (25, 3),
        (1000, 100),
        (1001, 100),
        (1005, 101),
        (9_999_999, 1_000_000),
    ],
)
def test_auto_tax_is_ten_percent_rounded_half_up(of_amount, want):
    assert money.auto_tax(of_amount) == want
    exact = Decimal(of_amount) / 10
    assert abs(Decimal(want) - exact) <= Decimal("0.5")
