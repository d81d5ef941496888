"""Card facts: the check digit every card number carries, and the brand its leading digits
name. They hold in every mode and for every processor; what a test number *does* (decline,
succeed) is a test input and stays with the sandbox processor."""

from __future__ import annotations

UNKNOWN_BRAND = "unknown"

# Brand by leading digits (IIN ranges), checked in order: the first brand with a matching
# prefix wins, so the longer, more specific prefixes of one brand never meet another's.
BRAND_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("34", "37"), "american_express"),
    (("300", "301", "302", "303", "304", "305", "36", "38"), "diners_club"),
    (tuple(str(n) for n in range(3528, 3590)), "jcb"),
    (tuple(str(n) for n in range(51, 56)) + tuple(str(n) for n in range(2221, 2721)), "master"),
    (("4",), "visa"),
)


def card_brand(number: str) -> str:
    """The brand a card number's leading digits name, or `unknown`."""
    for prefixes, brand in BRAND_PREFIXES:
        if number.startswith(prefixes):
            return brand
    return UNKNOWN_BRAND


def luhn(number: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check (every card number does)."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
