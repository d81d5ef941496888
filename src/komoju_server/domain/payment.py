"""The payment resource: what is stored, and how it is answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from komoju_server.domain import versions
from komoju_server.domain.clock import TimeRange, iso
from komoju_server.domain.documents import Document

# A refund request is `pending` until it is done by hand: completed (refunded) or rejected.
REFUND_REQUEST_STATUSES = ("pending", "completed", "rejected")


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
    deadline_shown: bool = True  # False: it lapses at payment_deadline, but answers null
    description: str | None = None
    captured_at: int | None = None
    external_order_num: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # as sent (domain/params.py)
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
    # After a partial capture: the authorized amount and tax, and the id its released rest is
    # shown under as a refund (versions before 2025-01-28). amount and tax are the captured ones.
    authorized: dict[str, Any] | None = None
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

    def to_api(self, version: versions.ApiVersion = versions.DEFAULT) -> dict[str, Any]:
        """The payment as `version` answers it (events: versions.EVENTS)."""
        answer = self._answer()
        if version.partial_capture_as_refund and self.authorized is not None:
            answer.update(self._released_as_refund(self.authorized))
        if version.captures:
            answer["captures"] = self._captures()
        return answer

    def answers_alike(self, one: versions.ApiVersion, other: versions.ApiVersion) -> bool:
        """Whether `to_api` gives this payment the same answer in both versions."""
        if one.captures != other.captures:
            return False
        return self.authorized is None or one.partial_capture_as_refund == other.partial_capture_as_refund

    def _released_as_refund(self, authorized: dict[str, Any]) -> dict[str, Any]:
        """The payment as authorized, with what a partial capture released shown as a refund."""
        total = authorized["amount"] + authorized["tax"] + self.payment_method_fee
        released = total - self.total
        refund = {
            "id": authorized["refund_id"],
            "resource": "refund",
            "amount": released,
            "currency": self.currency,
            "payment": self.id,
            "description": None,
            "created_at": iso(self.captured_at),
            "chargeback": False,
        }
        return {
            "amount": authorized["amount"],
            "tax": authorized["tax"],
            "total": total,
            "amount_refunded": self.amount_refunded + released,
            "refunds": [refund, *self.refunds],
        }

    def _captures(self) -> list[dict[str, Any]]:
        """2025-01-28's `captures`: what was captured, once (there are no multiple captures);
        after a partial capture amount, tax and total are already the captured ones."""
        if self.captured_at is None:
            return []
        captured = {"amount": self.amount, "tax": self.tax, "total": self.total, "currency": self.currency}
        return [{**captured, "captured_at": iso(self.captured_at)}]

    def _answer(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "payment",
            "status": self.status,
            "amount": self.amount,
            "tax": self.tax,
            "customer": self.customer,
            "payment_deadline": iso(self.payment_deadline) if self.deadline_shown else None,
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
        return _DOCUMENT.dumps(self)

    @classmethod
    def from_doc(cls, doc: str | bytes, version: int) -> Payment:
        return _DOCUMENT.loads(doc, version)


_DOCUMENT = Document(Payment)


@dataclass(frozen=True)
class PaymentFilter:
    """What a list of payments is narrowed to; None is no condition."""

    statuses: tuple[str, ...] | None = None  # any of these (`status=captured,authorized`)
    currency: str | None = None
    external_order_num: str | None = None
    created: TimeRange = TimeRange()
