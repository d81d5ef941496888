"""Value rules for payment_details fields: each takes the raw value and gives the clean one,
or raises `invalid_parameter` naming the field (e.g. `payment_details[store]`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from komoju_server.domain.cards import luhn
from komoju_server.domain.errors import invalid

Rule = Callable[[Any, str], Any]

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


def _text(value: Any, param: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(param)
    return str(value).strip()


def text(most: int = 255) -> Rule:
    def rule(value: Any, param: str) -> str:
        clean = _text(value, param)
        if not clean or len(clean) > most:
            raise invalid(param)
        return clean

    return rule


def email(value: Any, param: str) -> str:
    clean = _text(value, param)
    if len(clean) > 255 or not _EMAIL.match(clean):
        raise invalid(param)
    return clean


def phone(value: Any, param: str) -> str:
    clean = _text(value, param)
    if not _PHONE.match(clean):
        raise invalid(param)
    return clean


def url(value: Any, param: str) -> str:
    clean = _text(value, param)
    if len(clean) > 2000 or not is_url(clean):
        raise invalid(param)
    return clean


# An app's own scheme (komoju-sdk-abc://done): mobile apps take their customers back this way.
_APP_URL = re.compile(r"^([a-z][a-z0-9+.\-]*)://[^\s]+$", re.IGNORECASE)
# Schemes that run or reveal something where they are opened: never a place to send a customer.
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about", "filesystem"})


def return_url(value: Any, param: str) -> str:
    """Where a customer is sent back to: an http(s) URL or an app's own scheme."""
    clean = _text(value, param)
    found = _APP_URL.match(clean)
    if len(clean) > 2000 or found is None or found.group(1).lower() in _UNSAFE_SCHEMES:
        raise invalid(param)
    if found.group(1).lower() in ("http", "https") and not is_url(clean):
        raise invalid(param)
    return clean


def is_url(text: str) -> bool:
    """An absolute http or https URL."""
    return bool(_URL.match(text))


def katakana(value: Any, param: str) -> str:
    """Full- or half-width katakana, with spaces and the long-vowel mark."""
    clean = _text(value, param)
    if not clean or len(clean) > 255:
        raise invalid(param)
    for char in clean:
        if char in " 　ー－-・･ｰ":
            continue
        name = unicodedata.name(char, "")
        if "KATAKANA" not in name:
            raise invalid(param)
    return clean


def half_width_kana(value: Any, param: str) -> str:
    """Half-width katakana, digits, upper-case letters and spaces: what Japanese banks accept."""
    clean = _text(value, param)
    if not clean or len(clean) > 48:
        raise invalid(param)
    for char in clean:
        if char in " ()-.,/" or char.isdigit() or ("A" <= char <= "Z"):
            continue
        if not ("\uff61" <= char <= "\uff9f"):
            raise invalid(param)
    return clean


def one_of(*choices: str) -> Rule:
    def rule(value: Any, param: str) -> str:
        clean = _text(value, param)
        if clean not in choices:
            raise invalid(param)
        return clean

    return rule


def integer(least: int, most: int) -> Rule:
    def rule(value: Any, param: str) -> int:
        if isinstance(value, bool):
            raise invalid(param)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        number = whole_number(_text(value, param))
        if number is None or not least <= number <= most:
            raise invalid(param)
        return number

    return rule


def digits(least: int, most: int) -> Rule:
    """A string of digits (spaces and dashes dropped) of a length in [least, most]."""

    def rule(value: Any, param: str) -> str:
        clean = re.sub(r"[\s-]", "", _text(value, param))
        if not _ascii_digits(clean) or not least <= len(clean) <= most:
            raise invalid(param)
        return clean

    return rule


def card_number(value: Any, param: str) -> str:
    clean = re.sub(r"[\s-]", "", _text(value, param))
    if not _ascii_digits(clean) or not 12 <= len(clean) <= 19 or not luhn(clean):
        raise invalid(param)
    return clean


def verification_value(value: Any, param: str) -> str:
    clean = _text(value, param)
    if not _ascii_digits(clean) or not 3 <= len(clean) <= 4:
        raise invalid(param)
    return clean


def prepaid_number(least: int = 16, most: int = 16) -> Rule:
    """Prepaid card numbers are letters and digits (test numbers start with `e`)."""

    def rule(value: Any, param: str) -> str:
        clean = re.sub(r"[\s-]", "", _text(value, param))
        if not clean.isalnum() or not clean.isascii() or not least <= len(clean) <= most:
            raise invalid(param)
        return clean

    return rule


def secret_text(least: int, most: int) -> Rule:
    def rule(value: Any, param: str) -> str:
        clean = _text(value, param)
        if not least <= len(clean) <= most:
            raise invalid(param)
        return clean

    return rule


def zip_code(value: Any, param: str) -> str:
    clean = _text(value, param)
    if not re.fullmatch(r"\d{3}-?\d{4}", clean):
        raise invalid(param)
    return clean


def card_year(value: Any, param: str) -> int:
    """A card's expiry year, four digits or two (25 means 2025)."""
    year = integer(0, 2100)(value, param)
    return year + 2000 if year < 100 else year
