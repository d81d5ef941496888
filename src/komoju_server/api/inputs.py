"""Wire bodies and queries parsed into the services' typed inputs (`services/inputs.py`).

Every field is checked here, with KOMOJU's error codes and params, before any use case runs.
"""

from __future__ import annotations

from typing import Any

from komoju_server.domain import clock, money, params, rules, states
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.methods import clean_details, method_of
from komoju_server.services.inputs import (
    BankAccount,
    Capture,
    CustomerDetails,
    InlineDetails,
    NewPayment,
    NewSecureToken,
    PaymentChange,
    PaymentFilter,
    PaymentSource,
    Refund,
    RefundRequest,
    TokenDetails,
)

# The bank details a refund request must carry, and their rules, in the order they are checked.
BANK_ACCOUNT_FIELDS: tuple[tuple[str, rules.Rule], ...] = (
    ("customer_name", rules.half_width_kana),
    ("bank_name", rules.text(64)),
    ("bank_code", rules.digits(4, 4)),
    ("branch_name", rules.text(64)),
    ("branch_number", rules.digits(3, 3)),
    ("account_type", rules.one_of("ordinary", "checking", "savings")),
    ("account_number", rules.digits(1, 8)),
)


def new_payment(body: dict[str, Any], scenario: str | None = None) -> NewPayment:
    amount_value = body.get("amount")
    if not params.present(amount_value):
        raise missing("amount")
    amount = money.amount(amount_value)
    currency = money.currency(body.get("currency"))
    source = payment_source(body)
    return NewPayment(
        amount=amount,
        currency=currency,
        tax=money.tax(body.get("tax"), amount),
        source=source,
        description=params.text(body.get("description"), "description"),
        external_order_num=params.text(body.get("external_order_num"), "external_order_num"),
        metadata=params.metadata(body.get("metadata")),
        locale=params.locale(body.get("locale")),
        return_url=params.url(body.get("return_url"), "return_url"),
        cancel_url=params.url(body.get("cancel_url"), "cancel_url"),
        fraud_details=params.fraud_details(body.get("fraud_details")),
        capture=params.boolean(body.get("capture"), "capture", True),
        webhooks=webhook_urls(body.get("webhooks")),
        scenario=scenario,
    )


def new_secure_token(body: dict[str, Any]) -> NewSecureToken:
    amount_value = body.get("amount")
    if not params.present(amount_value):
        raise missing("amount")
    amount = money.amount(amount_value)
    currency = money.currency(body.get("currency"))
    raw_return = body.get("return_url")
    if not params.present(raw_return):
        raise missing("return_url")
    return_url = rules.return_url(raw_return, "return_url")
    return NewSecureToken(amount=amount, currency=currency, return_url=return_url, source=payment_source(body))


def payment_source(body: dict[str, Any]) -> PaymentSource:
    """Inline payment_details, a token id in their place, or a stored customer's."""
    details = body.get("payment_details")
    customer = body.get("customer")
    if params.present(details) and params.present(customer):
        raise ApiError("invalid_parameter", "customer", message="Give either payment_details or customer, not both")
    if params.present(customer):
        if not isinstance(customer, str):
            raise invalid("customer")
        return CustomerDetails(customer)
    if not params.present(details):
        raise missing("payment_details")
    if isinstance(details, str):
        return TokenDetails(details)
    method = method_of(details)
    return InlineDetails(method, clean_details(method, details))


def payment_change(body: dict[str, Any], scenario: str | None = None) -> PaymentChange:
    top_up = body.get("payment_details")
    if not params.present(top_up):
        top_up = None
    elif not isinstance(top_up, str | dict):
        raise invalid("payment_details")
    return PaymentChange(
        description=params.text(body.get("description"), "description") if "description" in body else None,
        set_description="description" in body,
        metadata=params.metadata(body.get("metadata")) if "metadata" in body else None,
        top_up=top_up,
        scenario=scenario,
    )


def capture(body: dict[str, Any]) -> Capture:
    value = body.get("amount")
    amount = money.amount(value) if params.present(value) else None
    tax_value = body.get("tax")
    if not params.present(tax_value):
        return Capture(amount)
    return Capture(amount, "auto" if money.is_auto(tax_value) else money.explicit_tax(tax_value))


def refund(body: dict[str, Any]) -> Refund:
    value = body.get("amount")
    amount = money.amount(value) if params.present(value) else None
    return Refund(amount, params.text(body.get("description"), "description"))


def refund_request(body: dict[str, Any]) -> RefundRequest:
    try:
        value = body.get("amount")
        amount = money.amount(value) if params.present(value) else None
        fields: dict[str, str] = {}
        for name, rule in BANK_ACCOUNT_FIELDS:
            field_value = body.get(name)
            if not params.present(field_value):
                raise missing(name)
            fields[name] = rule(field_value, name)
        description = params.text(body.get("description"), "description")
    except ApiError as problem:
        return RefundRequest(None, problem=problem)
    return RefundRequest(BankAccount(**fields), amount, description)


def payment_filter(query: dict[str, Any]) -> PaymentFilter:
    status = query.get("status")
    if params.present(status):
        if status not in states.STATUSES:
            raise invalid("status")
    else:
        status = None
    currency = query.get("currency")
    return PaymentFilter(
        status=status,
        currency=money.currency(currency) if params.present(currency) else None,
        external_order_num=params.text(query.get("external_order_num"), "external_order_num"),
        created=time_range(query),
    )


def time_range(query: dict[str, Any]) -> clock.TimeRange:
    """The `start_time` / `end_time` filters every list takes (ISO 8601, inclusive)."""
    bounds: list[int | None] = []
    for name in ("start_time", "end_time"):
        value = query.get(name)
        if not params.present(value):
            bounds.append(None)
            continue
        try:
            bounds.append(clock.parse_iso(str(value)))
        except ValueError as exc:
            raise invalid(name) from exc
    return clock.TimeRange(bounds[0], bounds[1])


def webhook_urls(value: Any) -> tuple[str, ...]:
    if not params.present(value):
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(rules.url(item, "webhooks") for item in items)
