"""The session resource: what a merchant asks a customer to pay (or to save), and how it ends.

A session is KOMOJU's precursor to a payment: an amount, a currency and the payment methods
the customer may choose from. It is `pending` until the customer pays it (a payment is made:
`completed`) or the merchant cancels it (`cancelled`). It expires `expires_in_seconds` after
it was made (24 hours at most, and by default): KOMOJU keeps the status `pending` and says
`expired: true`, and an expired session can no longer be paid.

Three modes: `payment` makes a payment, `customer` saves the customer's payment details as a
customer and makes no payment, `customer_payment` does both.

Rules here are pure: whether a session may be paid or cancelled at a moment, what its
methods are, and where the customer goes once it is paid.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from komoju_server.domain.clock import iso
from komoju_server.domain.documents import Document
from komoju_server.domain.errors import ApiError
from komoju_server.methods import BY_TYPE, Family, Method
from komoju_server.methods.catalogue import METHODS
from komoju_server.methods.listing import SUBTYPES

MODES = ("payment", "customer", "customer_payment")
PAYMENT_MODES = ("payment", "customer_payment")  # modes that make a payment
CUSTOMER_MODES = ("customer", "customer_payment")  # modes that save a customer
# A customer keeps a card for later charges (subscriptions, one-click payments): the customer
# modes offer cards only.
CUSTOMER_METHODS = ("credit_card",)

PENDING = "pending"
COMPLETED = "completed"
CANCELLED = "cancelled"
STATUSES = (PENDING, COMPLETED, CANCELLED)

DEFAULT_LIFETIME = 86_400  # seconds; also the longest a session may live
CAPTURES = ("auto", "manual")

# What a refused pay or cancel answers (KOMOJU's table has no code of its own for these).
NOT_PAYABLE = {
    COMPLETED: "This session has already been completed.",
    CANCELLED: "This session has been cancelled.",
    "expired": "This session has expired.",
}
NOT_CANCELLABLE = "This session has already been completed and cannot be cancelled."

# Payment families whose customer goes on to a page of ours (instructions) or another site.
_INSTRUCTED = (Family.DELAYED,)
_OFFSITE = (Family.REDIRECT,)


@dataclass(slots=True)
class Session:
    id: str
    merchant_id: str
    mode: str  # test or live: whose data it is
    session_mode: str  # payment, customer or customer_payment
    amount: int
    currency: str
    created_at: int
    expires_at: int
    payment_types: list[str]
    default_locale: str = "ja"
    return_url: str | None = None
    email: str | None = None
    external_customer_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    payment_data: dict[str, Any] = field(default_factory=dict)  # as answered
    line_items: list[dict[str, Any]] | None = None  # as answered; None when none were given
    status: str = PENDING
    completed_at: int | None = None
    cancelled_at: int | None = None
    expired_at: int | None = None  # when the scheduler marked it expired
    payment_id: str | None = None
    customer_id: str | None = None  # given at creation, or the customer made when it was paid
    version: int = 0

    # -- rules ---------------------------------------------------------------------------------

    @property
    def makes_payment(self) -> bool:
        return self.session_mode in PAYMENT_MODES

    @property
    def saves_customer(self) -> bool:
        return self.session_mode in CUSTOMER_MODES

    def expired(self, now: int) -> bool:
        """Past its time and never paid nor cancelled."""
        return self.status == PENDING and (self.expired_at is not None or now >= self.expires_at)

    def check_payable(self, now: int) -> None:
        """Refuses a pay unless the session is pending and not expired."""
        if self.status != PENDING:
            raise ApiError("unprocessable_entity", message=NOT_PAYABLE[self.status])
        if self.expired(now):
            raise ApiError("unprocessable_entity", message=NOT_PAYABLE["expired"])

    def check_method(self, method: Method, param: str) -> None:
        """A payment type the session does not offer is `invalid_payment_type`."""
        if method.type not in self.payment_types:
            raise ApiError("invalid_payment_type", param, provided=method.type, allowed=", ".join(self.payment_types))

    def complete(self, now: int, payment_id: str | None, customer_id: str | None) -> None:
        self.status = COMPLETED
        self.completed_at = now
        self.payment_id = payment_id
        if customer_id is not None:
            self.customer_id = customer_id

    def cancel(self, now: int) -> bool:
        """Cancels a pending session; False when it was cancelled already (nothing changes).
        A completed session cannot be cancelled."""
        if self.status == CANCELLED:
            return False
        if self.status == COMPLETED:
            raise ApiError("not_cancellable", message=NOT_CANCELLABLE)
        self.status = CANCELLED
        self.cancelled_at = now
        return True

    # -- rendering -----------------------------------------------------------------------------

    def to_api(
        self, base_url: str, now: int, payment: dict[str, Any] | None = None, merchant_name: str | None = None
    ) -> dict[str, Any]:
        """The session as KOMOJU answers it. `payment` is the payment as it is now (it may have
        been captured or refunded since the session was paid); `base_url` is where this
        server's pages are (the session_url); `merchant_name` the shop's name, which KOMOJU
        answers as `merchant` (its current schema, MerchantData)."""
        body: dict[str, Any] = {
            "id": self.id,
            "resource": "session",
            "mode": self.session_mode,
            "amount": self.amount,
            "currency": self.currency,
            "session_url": session_url(base_url, self.id),
            "return_url": self.return_url,
            "default_locale": self.default_locale,
            "payment_methods": [method_entry(BY_TYPE[t], self.amount, self.currency) for t in self.payment_types],
            "created_at": iso(self.created_at),
            "cancelled_at": iso(self.cancelled_at),
            "completed_at": iso(self.completed_at),
            "status": self.status,
            "expired": self.expired(now),
            "expires_at": iso(self.expires_at),
            "merchant": {"name": merchant_name},
            "metadata": self.metadata,
        }
        if self.makes_payment:
            body["payment"] = payment
            body["payment_data"] = self.payment_data
        if self.saves_customer:
            body["customer_id"] = self.customer_id
        if self.line_items is not None:
            body["line_items"] = self.line_items
        if self.email is not None:
            body["email"] = self.email
        return body

    def to_doc(self) -> str:
        return _DOCUMENT.dumps(self)

    @classmethod
    def from_doc(cls, doc: str | bytes, version: int) -> Session:
        return _DOCUMENT.loads(doc, version)


_DOCUMENT = Document(Session)


def session_url(base_url: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/sessions/{session_id}"


@functools.cache  # a few dozen method types, each named in every session's answer
def hashed_gateway(method_type: str) -> str:
    """An opaque, stable name of the gateway a method goes through (KOMOJU's `hashed_gateway`)."""
    return hashlib.sha256(f"komoju-server:{method_type}".encode()).hexdigest()[:16]


def method_entry(method: Method, amount: int, currency: str) -> dict[str, Any]:
    """One of a session's `payment_methods`, as KOMOJU lists them."""
    entry: dict[str, Any] = {
        "type": method.type,
        "hashed_gateway": hashed_gateway(method.type),
        "amount": amount,
        "currency": currency,
        "exchange_rate": 1.0,
    }
    if method.family is Family.CARD:
        entry["brands"] = list(SUBTYPES[method.type])
    else:
        entry["offsite"] = method.family in _OFFSITE
        entry["additional_fields"] = list(method.required_fields)
    return entry


@functools.lru_cache(maxsize=1024)  # walks the whole catalogue; a shop asks for a few amounts
def available(currency: str, amount: int, session_mode: str) -> tuple[str, ...]:
    """The payment types a session of this currency, amount and mode may offer: those of the
    catalogue that take the currency (and, when a payment is made, the amount). A session that
    names none offers those of them that are `offered_by_default`."""
    found = []
    for method in METHODS:
        if method.type not in CUSTOMER_METHODS and session_mode in CUSTOMER_MODES:
            continue
        limits = method.limits.get(currency)
        if limits is None:
            continue
        if session_mode in PAYMENT_MODES and not limits[0] <= amount <= limits[1]:
            continue
        found.append(method.type)
    return tuple(found)


def with_session_id(return_url: str, session_id: str) -> str:
    """`return_url` with `session_id=ID` added to its query, as KOMOJU sends the customer back."""
    parts = urlsplit(return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "session_id"]
    query.append(("session_id", session_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_url(session: Session, payment: dict[str, Any] | None) -> str | None:
    """Where the customer goes once the session is paid: a redirect method's `redirect_url`
    (the customer finishes there), a konbini slip's, bank transfer's or Pay-easy's
    `instructions_url`, otherwise the merchant's `return_url` with `session_id`."""
    if payment is not None:
        details = payment.get("payment_details") or {}
        method = BY_TYPE.get(str(details.get("type")))
        if method is not None and method.family in _OFFSITE and details.get("redirect_url"):
            return str(details["redirect_url"])
        if method is not None and method.family in _INSTRUCTED and details.get("instructions_url"):
            return str(details["instructions_url"])
    if session.return_url is None:
        return None
    return with_session_id(session.return_url, session.id)
