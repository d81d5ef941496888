"""Which language a page speaks: the customer's explicit choice, then the merchant's choice for
the payment or session, then the browser's Accept-Language, then Japanese (KOMOJU's default)."""

from __future__ import annotations

LOCALES = ("ja", "en", "ko")
DEFAULT = "ja"


def choose(asked: str | None, merchants: str | None, accept_language: str | None) -> str:
    for candidate in (asked, merchants):
        if candidate in LOCALES:
            return candidate
    for language in _by_preference(accept_language or ""):
        if language in LOCALES:
            return language
    return DEFAULT


def _by_preference(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, most wanted first ("en-US" -> "en")."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.split("-")[0].lower()))
    return [language for _, _, language in sorted(weighted)]
