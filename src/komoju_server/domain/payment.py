"""The payment resource: what is stored, and how it is answered."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from komoju_server.domain.clock import TimeRange, iso


@dataclass(slots=True)
class Payment:
    id: str
    merchant_id: str
    mode: str
    method_type: str
    status: str
    amount: int
    tax: int
    currency: str
    created_at: int
    details: dict[str, Any]  # the public payment_details
    payment_method_fee: int = 0
    customer: str | None = None
    payment_deadline: int | None = None
    description: str | None = None
    captured_at: int | None = None
    external_order_num: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    amount_refunded: int = 0
    locale: str = "ja"
    refunds: list[dict[str, Any]] = field(default_factory=list)
    refund_requests: list[dict[str, Any]] = field(default_factory=list)
    return_url: str | None = None
    cancel_url: str | None = None
    fraud_details: dict[str, str] | None = None
    capture: bool = True
    webhooks: list[str] = field(default_factory=list)
    subscription: str | None = None
    session: str | None = None  # the session it was paid through (POST /sessions/:id/pay)
    # Not answered: the processor's own id of the payment, and of each refund it made (by ours).
    reference: str | None = None
    refund_references: dict[str, str] = field(default_factory=dict)
    version: int = 0

    @property
    def total(self) -> int:
        return self.amount + self.tax + self.payment_method_fee

    @property
    def refundable_amount(self) -> int:
        return self.total - self.amount_refunded

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "payment",
            "status": self.status,
            "amount": self.amount,
            "tax": self.tax,
            "customer": self.customer,
            "payment_deadline": iso(self.payment_deadline),
            "payment_details": self.details,
            "payment_method_fee": self.payment_method_fee,
            "total": self.total,
            "currency": self.currency,
            "description": self.description,
            "subscription": self.subscription,
            "captured_at": iso(self.captured_at),
            "external_order_num": self.external_order_num,
            "metadata": self.metadata,
            "created_at": iso(self.created_at),
            "amount_refunded": self.amount_refunded,
            "locale": self.locale,
            "session": self.session,
            # KOMOJU's current Payment object has these four: the customer's names (as the
            # payment details give them, for the methods that ask them), the merchant category
            # code and the statement descriptor (merchant settings this server does not keep).
            "customer_family_name": self.details.get("family_name") if self.details else None,
            "customer_given_name": self.details.get("given_name") if self.details else None,
            "mcc": None,
            "statement_descriptor": None,
            "refunds": self.refunds,
            "refund_requests": self.refund_requests,
        }

    def to_doc(self) -> str:
        # A shallow dict: orjson walks the nested lists and dicts itself, unlike asdict's deep copy.
        return orjson.dumps({name: getattr(self, name) for name in _FIELDS}).decode()

    @classmethod
    def from_doc(cls, doc: str | bytes, version: int) -> Payment:
        data = orjson.loads(doc)
        data["version"] = version
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(Payment))


@dataclass(frozen=True)
class PaymentFilter:
    """What a list of payments is narrowed to; None is no condition."""

    status: str | None = None
    currency: str | None = None
    external_order_num: str | None = None
    created: TimeRange = TimeRange()
