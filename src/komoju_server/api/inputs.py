"""Wire bodies and queries parsed into the services' typed inputs (`services/inputs.py`).

Every field is checked here, with KOMOJU's error codes and params, before any use case runs.
"""

from __future__ import annotations

from typing import Any

from komoju_server.domain import clock, money, params, rules, states
from komoju_server.domain import session as sessions
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.webhook import EVENT_TYPES
from komoju_server.methods import BY_TYPE, TYPES, clean_details, method_of
from komoju_server.services.inputs import (
    BankAccount,
    Capture,
    CustomerDetails,
    EventFilter,
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
from komoju_server.services.session_inputs import (
    Address,
    LineItem,
    NewSession,
    PaymentData,
    SessionPayment,
)

# The bank details a refund request must carry, and their rules, in the order they are checked.
BANK_ACCOUNT_FIELDS: tuple[tuple[str, rules.Rule], ...] = (
    ("customer_name", rules.half_width_kana),
    ("bank_name", rules.text(64)),
    ("bank_code", rules.digits(4, 4)),
    ("branch_name", rules.text(64)),
    ("branch_number", rules.digits(3, 3)),
    # "normal" (普通, an ordinary account) is what KOMOJU's own refund request example sends.
    ("account_type", rules.one_of("normal", "ordinary", "checking", "savings")),
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
    currency = query.get("currency")
    return PaymentFilter(
        statuses=params.one_or_more(query.get("status"), "status", states.STATUSES),
        currency=money.currency(currency) if params.present(currency) else None,
        external_order_num=params.text(query.get("external_order_num"), "external_order_num"),
        created=time_range(query),
    )


def event_filter(query: dict[str, Any]) -> EventFilter:
    """GET /events: `type` (one or more event types, comma-separated) and the time range."""
    return EventFilter(
        types=params.one_or_more(query.get("type"), "type", EVENT_TYPES),
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


# -- sessions ------------------------------------------------------------------------------------

ADDRESS_FIELDS = ("name", "street_address1", "street_address2", "city", "state", "zipcode", "country")
MAX_LINE_ITEMS = 100


def new_session(body: dict[str, Any]) -> NewSession:
    """POST /sessions, checked in the order KOMOJU's reference lists the fields."""
    mode = body.get("mode")
    if not params.present(mode):
        mode = "payment"
    elif mode not in sessions.MODES:
        raise invalid("mode")
    pays = mode in sessions.PAYMENT_MODES
    amount_value = body.get("amount")
    if params.present(amount_value):
        amount = money.amount(amount_value)
    elif pays:
        raise missing("amount")
    else:
        amount = 0  # a customer-mode session charges nothing
    if pays and amount <= 0:
        raise invalid("amount")
    currency = money.currency(body.get("currency"))
    expires = body.get("expires_in_seconds")
    customer_id = body.get("customer_id") if mode in sessions.CUSTOMER_MODES else None
    if params.present(customer_id) and (not isinstance(customer_id, str) or not params.object_id(customer_id)):
        raise invalid("customer_id")
    return NewSession(
        mode=str(mode),
        amount=amount,
        currency=currency,
        default_locale=params.locale(body.get("default_locale"), "default_locale"),
        return_url=params.url(body.get("return_url"), "return_url"),
        email=_email(body.get("email"), "email"),
        expires_in_seconds=(
            rules.integer(1, sessions.DEFAULT_LIFETIME)(expires, "expires_in_seconds")
            if params.present(expires)
            else None
        ),
        external_customer_id=params.text(body.get("external_customer_id"), "external_customer_id"),
        payment_types=payment_types(body.get("payment_types")),
        line_items=line_items(body.get("line_items")),
        metadata=params.metadata(body.get("metadata")),
        payment_data=payment_data(body.get("payment_data")) if pays else PaymentData(),
        customer_id=str(customer_id) if params.present(customer_id) else None,
    )


def payment_types(value: Any) -> tuple[str, ...] | None:
    """A list of payment type names of the catalogue (whether the session can take them is the
    service's to say, once it knows the currency and amount)."""
    if not params.present(value):
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    found: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in BY_TYPE:
            raise ApiError("invalid_payment_type", "payment_types", provided=item, allowed=", ".join(TYPES))
        if item not in found:
            found.append(item)
    return tuple(found)


def line_items(value: Any) -> tuple[LineItem, ...] | None:
    if not params.present(value):
        return None
    if isinstance(value, dict):  # `line_items[0][amount]=...`: a hash keyed by position
        value = list(value.values())
    if not isinstance(value, list) or len(value) > MAX_LINE_ITEMS:
        raise invalid("line_items")
    items = []
    for index, item in enumerate(value):
        name = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise invalid(name)
        amount = item.get("amount")
        quantity = item.get("quantity")
        items.append(
            LineItem(
                amount=money.amount(amount, f"{name}[amount]") if params.present(amount) else None,
                description=params.text(item.get("description"), f"{name}[description]", 2000),
                quantity=rules.integer(1, 1_000_000)(quantity, f"{name}[quantity]") if params.present(quantity) else 1,
                image=params.url(item.get("image"), f"{name}[image]"),
                external_product_num=params.text(item.get("external_product_num"), f"{name}[external_product_num]"),
            )
        )
    return tuple(items)


def payment_data(value: Any) -> PaymentData:
    if not params.present(value):
        return PaymentData()
    if not isinstance(value, dict):
        raise invalid("payment_data")
    capture = value.get("capture")
    return PaymentData(
        capture=capture_mode(capture, "payment_data[capture]") or "auto",
        external_order_num=params.text(value.get("external_order_num"), "payment_data[external_order_num]"),
        name=params.text(value.get("name"), "payment_data[name]"),
        name_kana=params.text(value.get("name_kana"), "payment_data[name_kana]"),
        billing_address=address(value.get("billing_address"), "payment_data[billing_address]"),
        shipping_address=address(value.get("shipping_address"), "payment_data[shipping_address]"),
    )


def capture_mode(value: Any, param: str) -> str | None:
    """`auto` or `manual` (KOMOJU's words); true and false are taken for them too."""
    if not params.present(value):
        return None
    if value in sessions.CAPTURES:
        return str(value)
    return "auto" if params.boolean(value, param, True) else "manual"


def address(value: Any, param: str) -> Address | None:
    if not params.present(value):
        return None
    if not isinstance(value, dict):
        raise invalid(param)
    return Address(**{name: params.text(value.get(name), f"{param}[{name}]") for name in ADDRESS_FIELDS})


def session_payment(body: dict[str, Any], scenario: str | None = None) -> SessionPayment:
    """POST /sessions/:id/pay: `payment_details` as a hash or a token id."""
    details = body.get("payment_details")
    if not params.present(details):
        raise missing("payment_details")
    if not isinstance(details, str | dict):
        raise invalid("payment_details")
    return SessionPayment(
        details=details,
        customer_email=_email(body.get("customer_email"), "customer_email"),
        fraud_details=params.fraud_details(body.get("fraud_details")),
        capture=capture_mode(body.get("capture"), "capture"),
        scenario=scenario,
    )


def _email(value: Any, param: str) -> str | None:
    return rules.email(value, param) if params.present(value) else None
