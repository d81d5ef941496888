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


# The table as a lookup: no prefix of one brand starts another's (a test holds it), so the
# longest prefix found names the brand, in four lookups instead of 570 comparisons.
_BRAND_BY_PREFIX = {prefix: brand for prefixes, brand in BRAND_PREFIXES for prefix in prefixes}
_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _BRAND_BY_PREFIX}, reverse=True)


def card_brand(number: str) -> str:
    """The brand a card number's leading digits name, or `unknown`."""
    for length in _PREFIX_LENGTHS:
        brand = _BRAND_BY_PREFIX.get(number[:length])
        if brand is not None:
            return brand
    return UNKNOWN_BRAND


def luhn(number: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check (every card number does)."""
    digits = number.encode("ascii")
    kept = digits[-1::-2]  # from the check digit leftwards, every other digit as it is
    doubled = digits[-2::-2]  # the others doubled, their two digits summed
    total = sum(kept) - 48 * len(kept) + sum(doubled.translate(_DOUBLED))
    return total % 10 == 0


# A digit's byte to the digit doubled, its two digits summed (7 -> 14 -> 5); summed as bytes.
_DOUBLED = bytes((2 * (b - 48)) // 10 + (2 * (b - 48)) % 10 if 48 <= b <= 57 else 0 for b in range(256))
