"""Money: integers in each currency's lowest denomination (yen, won, cents), never floats.

Clients send amounts as JSON numbers or strings ("100", "10.0"). An amount must be a whole
number of the lowest denomination; a tax finer than that is rounded half up, as KOMOJU's
document says. Tax omitted or `auto` is Japan's highest consumption tax rate of the amount.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from komoju_server.domain.errors import ApiError, Details, invalid, not_one_of, out_of_range

# ISO 4217 code -> digits after the decimal point of the major unit (for display only:
# amounts in the API are already in the minor unit). The twenty currencies of KOMOJU's
# current API reference (its `Currency` enum), with ISO 4217's minor units.
CURRENCIES: dict[str, int] = {
    "JPY": 0,
    "USD": 2,
    "EUR": 2,
    "TWD": 2,
    "KRW": 0,
    "PLN": 2,
    "GBP": 2,
    "HKD": 2,
    "SGD": 2,
    "NZD": 2,
    "AUD": 2,
    "IDR": 2,
    "MYR": 2,
    "PHP": 2,
    "THB": 2,
    "CNY": 2,
    "BRL": 2,
    "CHF": 2,
    "CAD": 2,
    "VND": 0,
}
MAX_AMOUNT = 9_999_999
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
TAX_RATE_PERCENT = 10  # Japan's standard consumption tax rate


def currency(value: Any, param: str = "currency") -> str:
    if value is None or value == "":
        raise ApiError("missing_parameter", param)
    code = str(value).upper() if isinstance(value, str) else None
    if code not in CURRENCIES:
        raise ApiError("invalid_currency", param, details=not_one_of(CURRENCIES))
    return code


def _decimal(value: Any, param: str, broken: Details) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise invalid(param, broken)
    # Strings are plain decimals with a '.' separator: no exponent, no thousands or `_`
    # separators, no non-ASCII digits (all of which Decimal() would take).
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value.strip()):
        raise invalid(param, broken)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise invalid(param, broken) from exc
    if not number.is_finite() or number < 0:
        raise invalid(param, broken)
    return number


def amount(value: Any, param: str = "amount", most: int = MAX_AMOUNT) -> int:
    """A non-negative whole amount of the lowest denomination, at most `most`."""
    broken = out_of_range(0, most)
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)  # the usual case, "1000", without Decimal
        if number > most:
            raise invalid(param, broken)
        return number
    number = _decimal(value, param, broken)
    if number != number.to_integral_value() or number > most:
        raise invalid(param, broken)
    return int(number)


def tax(value: Any, of_amount: int, param: str = "tax") -> int:
    if is_auto(value):
        return auto_tax(of_amount)
    return explicit_tax(value, param)


def is_auto(value: Any) -> bool:
    """A tax left to the server: omitted, empty or `auto`."""
    return value is None or value == "" or (isinstance(value, str) and value.strip().lower() == "auto")


def explicit_tax(value: Any, param: str = "tax") -> int:
    """A tax given as a number, rounded half up to the lowest denomination."""
    broken = out_of_range(0, MAX_AMOUNT)
    number = _decimal(value, param, broken)
    if number > MAX_AMOUNT:
        raise invalid(param, broken)
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(part: int, of: int, tax_of_whole: int) -> int:
    """`part`'s share of the tax on `of`, rounded half up: the tax of a partial capture."""
    if of == 0:
        return tax_of_whole
    return (2 * tax_of_whole * part + of) // (2 * of)


def auto_tax(of_amount: int) -> int:
    """10% of the amount, rounded half up to the lowest denomination (amounts are never negative)."""
    return (of_amount * TAX_RATE_PERCENT + 50) // 100
