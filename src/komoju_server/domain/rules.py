"""Value rules for payment_details fields: each takes the raw value and gives the clean one,
or raises `invalid_parameter` naming the field (e.g. `payment_details[store]`).

Each rule also carries what it accepts as a JSON Schema (`schema_of`), which the OpenAPI
document (`api/openapi.py`) shows for every field that uses it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from komoju_server.domain.cards import luhn
from komoju_server.domain.errors import Details, invalid, length, not_one_of, out_of_range, wrong_format

Rule = Callable[[Any, str], Any]

# A whole number as a JSON number or a string of ASCII digits (form bodies are all strings).
_NUMBER_TYPES = ["integer", "string"]
_DIGITS = "^[0-9]+$"


def described(schema: dict[str, Any], rule: Rule) -> Rule:
    """`rule`, carrying the JSON Schema of the values it accepts."""
    rule.schema = schema  # type: ignore[attr-defined]
    return rule


def schema_of(rule: Rule) -> dict[str, Any]:
    """The JSON Schema of what `rule` accepts ({} for a rule that says nothing)."""
    return dict(getattr(rule, "schema", {}))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# KOMOJU's own pattern: ten digits, with brackets, spaces, dashes or a plus between them.
_PHONE = re.compile(r"^([() \-_+]*[0-9]){10}[() \-_+0-9]*$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# No field takes a longer number; int() of a long digit string costs time and, past 4,300
# digits, raises ValueError.
MAX_DIGITS = 18


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() and `\\d` also take full-width and other scripts' digits."""
    return text.isascii() and text.isdigit()


def whole_number(text: str) -> int | None:
    """ASCII digits as an int; None when they are not, or are too many for any field."""
    if not _ascii_digits(text):
        return None
    significant = text.lstrip("0")
    return int(significant or "0") if len(significant) <= MAX_DIGITS else None


def _text(value: Any, param: str, broken: Details) -> str:
    """The value as stripped text; anything but a string or a number breaks the caller's rule."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(param, broken)
    return str(value).strip()


def text(most: int = 255) -> Rule:
    broken = length(most, least=1)

    def rule(value: Any, param: str) -> str:
        clean = _text(value, param, broken)
        if not clean or len(clean) > most:
            raise invalid(param, broken)
        return clean

    return described({"type": "string", "minLength": 1, "maxLength": most}, rule)


_EMAIL_BROKEN = wrong_format("email", max_length=255)
_PHONE_BROKEN = wrong_format("phone")
_URL_BROKEN = wrong_format("url", max_length=2000)


def email(value: Any, param: str) -> str:
    clean = _text(value, param, _EMAIL_BROKEN)
    if len(clean) > 255 or not _EMAIL.match(clean):
        raise invalid(param, _EMAIL_BROKEN)
    return clean


def phone(value: Any, param: str) -> str:
    clean = _text(value, param, _PHONE_BROKEN)
    if not _PHONE.match(clean):
        raise invalid(param, _PHONE_BROKEN)
    return clean


def url(value: Any, param: str) -> str:
    clean = _text(value, param, _URL_BROKEN)
    if len(clean) > 2000 or not is_url(clean):
        raise invalid(param, _URL_BROKEN)
    return clean


# An app's own scheme (komoju-sdk-abc://done): mobile apps take their customers back this way.
_APP_URL = re.compile(r"^([a-z][a-z0-9+.\-]*)://[^\s]+$", re.IGNORECASE)
# Schemes that run or reveal something where they are opened: never a place to send a customer.
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about", "filesystem"})


def return_url(value: Any, param: str) -> str:
    """Where a customer is sent back to: an http(s) URL or an app's own scheme."""
    clean = _text(value, param, _URL_BROKEN)
    found = _APP_URL.match(clean)
    if len(clean) > 2000 or found is None or found.group(1).lower() in _UNSAFE_SCHEMES:
        raise invalid(param, _URL_BROKEN)
    if found.group(1).lower() in ("http", "https") and not is_url(clean):
        raise invalid(param, _URL_BROKEN)
    return clean


def is_url(text: str) -> bool:
    """An absolute http or https URL."""
    return bool(_URL.match(text))


def katakana(value: Any, param: str) -> str:
    """Full- or half-width katakana, with spaces and the long-vowel mark."""
    broken = wrong_format("katakana", min_length=1, max_length=255)
    clean = _text(value, param, broken)
    if not clean or len(clean) > 255:
        raise invalid(param, broken)
    for char in clean:
        if char in " 　ー－-・･ｰ":
            continue
        name = unicodedata.name(char, "")
        if "KATAKANA" not in name:
            raise invalid(param, broken)
    return clean


def half_width_kana(value: Any, param: str) -> str:
    """Half-width katakana, digits, upper-case letters and spaces: what Japanese banks accept."""
    broken = wrong_format("half_width_kana", min_length=1, max_length=48)
    clean = _text(value, param, broken)
    if not clean or len(clean) > 48:
        raise invalid(param, broken)
    for char in clean:
        if char in " ()-.,/" or char.isdigit() or ("A" <= char <= "Z"):
            continue
        if not ("\uff61" <= char <= "\uff9f"):
            raise invalid(param, broken)
    return clean


def one_of(*choices: str) -> Rule:
    broken = not_one_of(choices)

    def rule(value: Any, param: str) -> str:
        clean = _text(value, param, broken)
        if clean not in choices:
            raise invalid(param, broken)
        return clean

    return described({"type": "string", "enum": list(choices)}, rule)


def integer(least: int, most: int) -> Rule:
    broken = out_of_range(least, most)

    def rule(value: Any, param: str) -> int:
        if isinstance(value, bool):
            raise invalid(param, broken)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        number = whole_number(_text(value, param, broken))
        if number is None or not least <= number <= most:
            raise invalid(param, broken)
        return number

    return described({"type": _NUMBER_TYPES, "minimum": least, "maximum": most, "pattern": _DIGITS}, rule)


def digits(least: int, most: int) -> Rule:
    """A string of digits (spaces and dashes dropped) of a length in [least, most]."""

    broken = wrong_format("digits", min_length=least, max_length=most)

    def rule(value: Any, param: str) -> str:
        clean = re.sub(r"[\s-]", "", _text(value, param, broken))
        if not _ascii_digits(clean) or not least <= len(clean) <= most:
            raise invalid(param, broken)
        return clean

    return described(
        {"type": "string", "pattern": f"^[0-9 -]{{{least},}}$", "description": f"{least} to {most} digits"}, rule
    )


_CARD_NUMBER_BROKEN = wrong_format("card_number", min_length=12, max_length=19)
_VERIFICATION_BROKEN = wrong_format("digits", min_length=3, max_length=4)


def card_number(value: Any, param: str) -> str:
    # The details never echo the number, nor say whether only its check digit was wrong.
    clean = _text(value, param, _CARD_NUMBER_BROKEN)
    if not clean.isdigit():  # spaces or dashes between groups of digits are dropped
        clean = re.sub(r"[\s-]", "", clean)
    if not _ascii_digits(clean) or not 12 <= len(clean) <= 19 or not luhn(clean):
        raise invalid(param, _CARD_NUMBER_BROKEN)
    return clean


def verification_value(value: Any, param: str) -> str:
    clean = _text(value, param, _VERIFICATION_BROKEN)
    if not _ascii_digits(clean) or not 3 <= len(clean) <= 4:
        raise invalid(param, _VERIFICATION_BROKEN)
    return clean


def prepaid_number(least: int = 16, most: int = 16) -> Rule:
    """Prepaid card numbers are letters and digits (test numbers start with `e`)."""

    broken = wrong_format("alphanumeric", min_length=least, max_length=most)

    def rule(value: Any, param: str) -> str:
        clean = re.sub(r"[\s-]", "", _text(value, param, broken))
        if not clean.isalnum() or not clean.isascii() or not least <= len(clean) <= most:
            raise invalid(param, broken)
        return clean

    schema = {"type": "string", "pattern": "^[A-Za-z0-9 -]+$", "description": f"{least} to {most} letters or digits"}
    return described(schema, rule)


def secret_text(least: int, most: int) -> Rule:
    broken = length(most, least=least)

    def rule(value: Any, param: str) -> str:
        clean = _text(value, param, broken)
        if not least <= len(clean) <= most:
            raise invalid(param, broken)
        return clean

    return described({"type": "string", "minLength": least, "maxLength": most}, rule)


def zip_code(value: Any, param: str) -> str:
    broken = wrong_format("zip_code")
    clean = _text(value, param, broken)
    if not re.fullmatch(r"\d{3}-?\d{4}", clean):
        raise invalid(param, broken)
    return clean


_YEAR = integer(0, 2100)


def card_year(value: Any, param: str) -> int:
    """A card's expiry year, four digits or two (25 means 2025)."""
    year = _YEAR(value, param)
    return year + 2000 if year < 100 else year


# What the plain rules accept, for the OpenAPI document.
described({"type": "string", "format": "email", "maxLength": 255}, email)
described({"type": "string", "pattern": _PHONE.pattern, "description": "ten digits or more"}, phone)
described({"type": "string", "format": "uri", "maxLength": 2000, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}, url)
described(
    {"type": "string", "maxLength": 2000, "description": "an http(s) URL or an app's own scheme (myapp://done)"},
    return_url,
)
described({"type": "string", "minLength": 1, "maxLength": 255, "description": "katakana"}, katakana)
described(
    {"type": "string", "minLength": 1, "maxLength": 48, "description": "half-width katakana, digits, A-Z"},
    half_width_kana,
)
described(
    {"type": "string", "pattern": "^[0-9 -]+$", "description": "12 to 19 digits passing Luhn"},
    card_number,
)
described({"type": ["string", "integer"], "pattern": "^[0-9]{3,4}$"}, verification_value)
described({"type": "string", "pattern": "^[0-9]{3}-?[0-9]{4}$"}, zip_code)
described({"type": _NUMBER_TYPES, "pattern": _DIGITS, "description": "four digits, or two (25 is 2025)"}, card_year)
