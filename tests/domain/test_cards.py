"""Card facts: the Luhn check digit and the brand named by a number's leading digits."""

from __future__ import annotations

import pytest

from komoju_server.domain import cards
from komoju_server.processors import test_inputs

# -- Luhn -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "5555555555554444", "378282246310005", "30569309025904", "3530111333300000", "0", "18", "59"],
)
def test_luhn_accepts(number):
    assert cards.luhn(number)


@pytest.mark.parametrize(
    "number", ["4111111111111112", "4111111111111121", "1", "19", "79927398710", "5555555555554440"]
)
def test_luhn_refuses(number):
    assert not cards.luhn(number)


def test_luhn_catches_every_single_digit_error():
    number = "4111111111111111"
    for i in range(len(number)):
        for d in "0123456789":
            if d != number[i]:
                assert not cards.luhn(number[:i] + d + number[i + 1 :])


def test_luhn_catches_swapped_neighbours():
    # 4111111111111111 with its first two digits swapped: a typing error Luhn exists to catch.
    assert not cards.luhn("1411111111111111")


# -- brands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("4123111111111000", "visa"),
        ("5555555555554444", "master"),
        ("5105105105105100", "master"),
        ("2221000000000009", "master"),  # the 2-series range
        ("2720990000000007", "master"),
        ("378282246310005", "american_express"),
        ("340000000000009", "american_express"),
        ("30569309025904", "diners_club"),
        ("36227206271667", "diners_club"),
        ("3530111333300000", "jcb"),
        ("3528000000000106", "jcb"),
        ("3589000000000003", "jcb"),
    ],
)
def test_brand_by_leading_digits(number, brand):
    assert cards.card_brand(number) == brand


@pytest.mark.parametrize(
    "number",
    [
        "6011111111111117",  # Discover: not a brand taken here
        "2220990000000000",  # just below the master 2-series
        "2721000000000004",  # just above it
        "3527000000000000",  # just below jcb
        "3590000000000000",  # just above it
        "306000000000000",  # 306 is not diners' 300-305
        "",
    ],
)
def test_numbers_of_no_known_brand(number):
    assert cards.card_brand(number) == cards.UNKNOWN_BRAND


def test_every_prefix_names_one_brand_only():
    """A prefix listed under two brands, or starting another brand's prefix, would make the
    order of the table decide silently (and card_brand looks the longest prefix up)."""
    brand_of = {prefix: brand for prefixes, brand in cards.BRAND_PREFIXES for prefix in prefixes}
    assert len(brand_of) == sum(len(prefixes) for prefixes, _ in cards.BRAND_PREFIXES)
    for prefix, brand in brand_of.items():
        for shorter in range(1, len(prefix)):
            assert brand_of.get(prefix[:shorter], brand) == brand, prefix


def test_the_brand_is_the_first_in_the_table_whose_prefix_the_number_has():
    def first_in_table(number: str) -> str:
        found = (brand for prefixes, brand in cards.BRAND_PREFIXES if number.startswith(prefixes))
        return next(found, cards.UNKNOWN_BRAND)

    for start in range(10_000):
        for digits in (f"{start:04d}", f"{start:04d}00000000", str(start)):
            assert cards.card_brand(digits) == first_in_table(digits), digits


def test_the_sandbox_catalogue_agrees_with_the_card_facts():
    """The test cards' brands are the brands their numbers name: a success answers the same
    brand whether the number is in the catalogue or not."""
    for number, (brand, _failure) in test_inputs.CARDS.items():
        assert cards.luhn(number), number
        assert cards.card_brand(number) == brand, number
