"""Typed inputs of the session use cases, parsed from wire bodies at the edge (`api/inputs.py`)
or built by the hosted page from its form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Address:
    name: str | None = None
    street_address1: str | None = None
    street_address2: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class LineItem:
    amount: int | None = None
    description: str | None = None
    quantity: int = 1
    image: str | None = None
    external_product_num: str | None = None


@dataclass(frozen=True)
class PaymentData:
    """How the payment a session makes is made: `payment_data` of POST /sessions."""

    capture: str = "auto"  # or "manual": the card payment waits, authorized, for a capture
    external_order_num: str | None = None
    name: str | None = None
    name_kana: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None


@dataclass(frozen=True)
class NewSession:
    mode: str
    amount: int
    currency: str
    default_locale: str = "ja"
    return_url: str | None = None
    email: str | None = None
    expires_in_seconds: int | None = None  # None: the longest, 24 hours
    external_customer_id: str | None = None
    payment_types: tuple[str, ...] | None = None  # None: every method the session can take
    line_items: tuple[LineItem, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    payment_data: PaymentData = PaymentData()
    customer_id: str | None = None  # customer modes: the customer to save the details on


@dataclass(frozen=True)
class SessionPayment:
    """POST /sessions/:id/pay (or the hosted page's form). The details are a token id or a hash
    checked by the service, which knows the session's methods and its customer's email."""

    details: str | dict[str, Any]
    customer_email: str | None = None
    fraud_details: dict[str, str] | None = None
    capture: str | None = None  # auto or manual; None: as the session's payment_data says
    scenario: str | None = None  # test mode: a failure the sandbox must answer with
