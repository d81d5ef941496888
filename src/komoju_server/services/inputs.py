"""Typed inputs of the payment use cases.

The API parses wire bodies into these once, at the edge (`api/inputs.py`); internal callers
(subscriptions, sessions) build them directly. A service never reads a raw body.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from komoju_server.domain.errors import ApiError
from komoju_server.domain.event import EventFilter as EventFilter  # the event log is filtered by it
from komoju_server.domain.payment import PaymentFilter as PaymentFilter  # lists are filtered by it
from komoju_server.domain.values import value
from komoju_server.methods import Method


@value
class InlineDetails:
    """payment_details given in the request, checked against the method's fields."""

    method: Method
    details: dict[str, Any]  # cleaned, secrets included


@value
class TokenDetails:
    token_id: str


@value
class CustomerDetails:
    customer_id: str


PaymentSource = InlineDetails | TokenDetails | CustomerDetails


@value
class NewPayment:
    amount: int
    currency: str
    tax: int
    source: PaymentSource
    description: str | None = None
    external_order_num: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    locale: str = "ja"
    return_url: str | None = None
    cancel_url: str | None = None
    fraud_details: dict[str, str] | None = None
    capture: bool = True
    webhooks: tuple[str, ...] = ()
    scenario: str | None = None  # test mode: a failure the sandbox must answer with
    session: str | None = None  # the session the payment is made through
    # The customer an inline payment is made for (a session that also saves the details as a
    # customer, in the same unit of work); a stored customer's payment names its own.
    customer: str | None = None


@value
class NewSecureToken:
    """POST /secure_tokens: card details (inline, a token's or a customer's) to authenticate with
    3-D Secure for one payment of `amount` in `currency`; the customer comes back to `return_url`."""

    amount: int
    currency: str
    return_url: str
    source: PaymentSource


@value
class PaymentChange:
    """PATCH /payments/:id: only what is given changes; `details` goes on with a short prepaid payment."""

    description: str | None = None
    set_description: bool = False
    metadata: dict[str, Any] | None = None
    # Another prepaid card: a token id, or inline details whose type defaults to the payment's
    # own method (so they are checked by the service, which knows it).
    top_up: str | dict[str, Any] | None = None
    scenario: str | None = None


@value
class Capture:
    """POST /payments/:id/capture: how much of an authorization to take; the rest is released."""

    amount: int | None = None  # before tax; None: the amount authorized
    # None: the authorized tax, or its share of a smaller amount; "auto": 10% of the amount.
    tax: int | Literal["auto"] | None = None


@value
class Refund:
    amount: int | None  # None: all that is left
    description: str | None = None


@value
class BankAccount:
    """Where a manual refund is sent (the bank fields of a refund request)."""

    customer_name: str
    bank_name: str
    bank_code: str
    branch_name: str
    branch_number: str
    account_type: str
    account_number: str


@value
class RefundRequest:
    """A manual refund's bank account. Whether the payment can have one is said before what is
    wrong with the fields, so a field's error waits in `problem` for the service to raise."""

    account: BankAccount | None
    amount: int | None = None
    description: str | None = None
    problem: ApiError | None = None
