"""What the payment API tests share: value matchers, error bodies, request builders, time math.

Matchers compare equal to any value of the right shape, so a whole response can be held
against one expected dict with `==` even where the server generates values.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx

JST = dt.timezone(dt.timedelta(hours=9))
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

ERROR_MESSAGES = {
    "invalid_parameter": "The value of {param} is invalid",
    "missing_parameter": "A required parameter ({param}) is missing",
    "invalid_currency": "The currency you requested is invalid.",
    "not_refundable": "The payment you requested is not refundable.",
    "not_capturable": "The payment you requested is not capturable.",
    "not_cancellable": "This payment is noncancellable.",
    "not_found": "The requested resource could not be found but may be available again in the future.",
    "insufficient_funds": "Insufficient funds",
    "used_number": "Used number",
    "card_declined": "Card declined",
    "invalid_password": "Invalid password",
    "bad_verification_value": "Bad verification value",
    "exceeds_limit": "Exceeds limit",
    "card_expired": "Card expired",
    "invalid_number": "The number you requested is invalid.",
    "invalid_account": "Invalid account",
    "restricted_account": "translation missing: en.errors.bad_gateway.restricted_account",
    "other_error": "translation missing: en.errors.bad_gateway.other_error",
    "invalid_user_key": "translation missing: en.errors.bad_gateway.invalid_user_key",
    "other_invalid": "Invalid card",
    "fraudulent": "This payment is fraudulent.",
    "request_failed": "The request failed",
    "bad_gateway": "We are unable to process your request due to an invalid response from the upstream server.",
    "gateway_timeout": (
        "When attempting to process your payment, we encountered a gateway timeout. Fear not, we have not "
        "processed the payment. Please try your payment again."
    ),
}


class Match:
    """Equal to any string that fully matches `pattern` (or to None when `nullable`)."""

    def __init__(self, pattern: str, nullable: bool = False) -> None:
        self.pattern = re.compile(pattern)
        self.nullable = nullable

    def __eq__(self, other: object) -> bool:
        if other is None:
            return self.nullable
        return isinstance(other, str) and self.pattern.fullmatch(other) is not None

    def __hash__(self) -> int:
        return hash(self.pattern.pattern)

    def __repr__(self) -> str:
        return f"Match({self.pattern.pattern!r})"


ID = Match(r"[a-z0-9]{25}")
TIME = Match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def digits(n: int) -> Match:
    return Match(rf"\d{{{n}}}")


# What a refused value's `details` may name (src/komoju_server/domain/errors.py).
DETAIL_RULES = {
    "range": {"rule", "min", "max"},
    "one_of": {"rule", "accepted"},
    "length": {"rule", "min", "max"},
    "limit": {"rule", "min", "max", "currency"},
    "format": {"rule", "expected", "min_length", "max_length"},
}


def well_formed_details(details: Any) -> bool:
    """A `details` object of the documented vocabulary: a known rule and only its members."""
    if not isinstance(details, dict) or details.get("rule") not in DETAIL_RULES:
        return False
    return set(details) <= DETAIL_RULES[details["rule"]]


class ErrorMatch:
    """Equal to KOMOJU's error object with this code, message and param. With `details`, the
    error's details must be exactly those; without, it may have none or any well-formed ones
    (tests/api/test_error_details.py pins them rule by rule)."""

    def __init__(self, code: str, message: str, param: str | None, details: dict[str, Any] | None) -> None:
        self.fields = {"code": code, "message": message, "param": param}
        self.details = details

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, dict) or set(other) - {"details"} != set(self.fields):
            return False
        if any(other[name] != value for name, value in self.fields.items()):
            return False
        if self.details is not None:
            return other.get("details") == self.details
        return "details" not in other or well_formed_details(other["details"])

    def __hash__(self) -> int:
        return hash(tuple(self.fields.values()))

    def __repr__(self) -> str:
        shown = {**self.fields, **({"details": self.details} if self.details is not None else {})}
        return f"ErrorMatch({shown!r})"


def error(
    code: str, param: str | None = None, message: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    text = message if message is not None else ERROR_MESSAGES[code].format(param=param)
    return {"error": ErrorMatch(code, text, param, details)}


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)


def fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


def end_of_jst_day(created_at: str, days: int) -> str:
    """23:59:59 in Japan, `days` calendar days after the Japanese day of `created_at`."""
    day = parse_time(created_at).astimezone(JST).date() + dt.timedelta(days=days)
    return fmt(dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST))


def days_later(created_at: str, days: int) -> str:
    return fmt(parse_time(created_at) + dt.timedelta(days=days))


def card(number: str = "4111111111111111", **extra: Any) -> dict[str, Any]:
    return {"type": "credit_card", "number": number, "month": 1, "year": 2030, **extra}


def prepaid(type_: str, number: str = "1111111111111111") -> dict[str, Any]:
    return {"type": type_, "prepaid_number": number}


def konbini(store: str = "lawson", **extra: Any) -> dict[str, Any]:
    return {"type": "konbini", "store": store, "email": "buyer@example.com", **extra}


def order_num() -> str:
    """A unique external_order_num: filtering the list by it isolates one test's payments."""
    return "test-" + uuid.uuid4().hex


def count(client: httpx.Client, **filters: str) -> int:
    response = client.get("/payments", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def pay(
    client: httpx.Client,
    details: Any,
    amount: Any = 1000,
    currency: Any = "JPY",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    """POST /payments as JSON; `extra` are more top-level fields."""
    body = {"amount": amount, "currency": currency, "payment_details": details, **extra}
    return client.post("/payments", json=body, headers=headers)


def created(client: httpx.Client, details: Any, amount: Any = 1000, currency: str = "JPY", **extra: Any) -> dict:
    response = pay(client, details, amount, currency, **extra)
    assert response.status_code in (200, 202), response.text
    return response.json()


def refund_object(
    payment_id: str, amount: int, description: str | None = None, created_at: str = TIME
) -> dict[str, Any]:
    return {
        "id": ID,
        "resource": "refund",
        "amount": amount,
        "currency": "JPY",
        "payment": payment_id,
        "description": description,
        "created_at": created_at,
        "chargeback": False,
    }


# A customer's bank account, as a refund request takes it.
BANK_ACCOUNT = {
    "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "bank_name": "みずほ銀行",
    "bank_code": "0001",
    "branch_name": "本店",
    "branch_number": "100",
    "account_type": "savings",
    "account_number": "7654321",
}
