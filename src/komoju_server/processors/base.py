"""The processor contract: what any payment processor, sandbox or real, must do.

Requests and results are value objects. Every request carries an idempotency `key`, minted
once per intent by the payments service before any retry, so a processor asked twice with one
key does the work once (a real processor forwards it, e.g. as `X-KOMOJU-IDEMPOTENCY`). Every
result carries the processor's own `reference` for the payment (or the refund) and the
payment's resulting status; capture, refund and cancel act on that reference.

How a call can end:
- a result: the processor did it;
- `ApiError` with KOMOJU's code (a decline, most often a 502): it refused, and nothing moved;
- `Unanswered`: it could not be asked, or its answer was unusable (down, too slow, garbage).
  With `sent=False` nothing reached it; with `sent=True` the outcome is unknown, and the
  intent stays pending until recovery asks again with the same key.

The payments service calls a processor once per intent: claim the intent in a unit of work,
call, record the outcome in another (see `services/payments.py`). A processor that is not
`remote` (the sandbox: it keeps no state and calls nothing outside this process) is called
in the unit's own decide step instead, for a new payment and for every action on one, since
calling it again after a lost race is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any, Protocol

from komoju_server.domain.values import value
from komoju_server.methods import Method

# A payment's status as a processor reports it.
STATUSES = ("pending", "authorized", "captured", "refunded", "cancelled", "expired", "failed")


@value
class ChargeRequest:
    """A new payment."""

    key: str
    payment_id: str  # this server's id for it
    method: Method
    details: Mapping[str, Any]  # the cleaned request details, secrets included
    amount: int
    tax: int
    currency: str
    capture: bool
    created_at: int
    base_url: str  # where this server's own pages (instructions, offsite) are
    locale: str = "ja"
    external_order_num: str | None = None
    return_url: str | None = None
    scenario: str | None = None  # test mode: the Komoju-Scenario header, for the sandbox only

    @property
    def total(self) -> int:
        return self.amount + self.tax


@value
class TopUpRequest:
    """Another prepaid card for a payment that was left short (pending)."""

    key: str
    reference: str
    payment_id: str
    method: Method
    details: Mapping[str, Any]
    total: int
    cards_used: tuple[Mapping[str, Any], ...]  # the payment's prepaid_cards so far
    scenario: str | None = None


@value
class CaptureRequest:
    """Take an authorized payment: all of it, or (a partial capture) `amount` before tax plus
    `tax`, no more than was authorized, the rest released. Both or neither are given."""

    key: str
    reference: str
    amount: int | None = None  # before tax; None: everything authorized
    tax: int | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) != (self.tax is None):
            raise ValueError("a partial capture gives both amount and tax")

    @property
    def partial(self) -> bool:
        return self.amount is not None


@value
class RefundRequest:
    key: str
    reference: str
    amount: int
    description: str | None = None


@value
class CancelRequest:
    key: str
    reference: str


@value
class RefundResult:
    """A refund the processor made. Whether the payment is now refunded in full is for this
    server's own ledger to say."""

    reference: str  # the processor's id of the refund
    amount: int


@value
class PaymentResult:
    """The payment as the processor has it after the call."""

    reference: str
    status: str
    details: Mapping[str, Any] = field(default_factory=dict)  # public details the processor made
    payment_deadline: int | None = None  # when the processor itself sets one
    refunds: tuple[RefundResult, ...] = ()  # every refund it has made of the payment, when it says


@value
class TokenResult:
    """A token made at the processor, which then holds the card: what the token shows, and what
    a payment with it forwards instead of the card (no card data; kept sealed with our token)."""

    details: Mapping[str, Any]
    charge_details: Mapping[str, Any]


class Unanswered(Exception):
    """The processor could not be asked, or did not answer usably. `sent` says whether the
    request may have reached it (then its outcome is unknown)."""

    def __init__(self, reason: str, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class Processor(Protocol):
    name: str
    remote: bool  # its calls leave this process: each is claimed before and recorded after

    async def charge(self, request: ChargeRequest) -> PaymentResult: ...

    async def top_up(self, request: TopUpRequest) -> PaymentResult: ...

    async def capture(self, request: CaptureRequest) -> PaymentResult: ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def cancel(self, request: CancelRequest) -> PaymentResult: ...


# -- optional capabilities: what a remote processor may also do ------------------------------


class Tokenizer(Protocol):
    """A processor that makes tokens itself (live-mode POST /tokens goes there)."""

    async def tokenize(self, details: Mapping[str, Any], currency: str | None = None) -> TokenResult: ...


class Observable(Protocol):
    """A remote processor that reports what happens to payments after a call: it answers
    lookups (for a reconcile) and sends events (webhooks) whose payment it can read."""

    name: str

    async def lookup(self, reference: str) -> PaymentResult: ...

    def read_event(self, event: Mapping[str, Any]) -> PaymentResult | None:
        """The payment an event reports, None for events about nothing of a payment's (a ping);
        ValueError for an event that is not one."""
        ...


def tokenizer(processor: object) -> Tokenizer | None:
    return processor if callable(getattr(processor, "tokenize", None)) else None  # type: ignore[return-value]


def observable(processor: object) -> Observable | None:
    remote = bool(getattr(processor, "remote", False))
    readable = all(callable(getattr(processor, name, None)) for name in ("lookup", "read_event"))
    return processor if remote and readable else None  # type: ignore[return-value]
