"""What a payment method is, as data: its fields, currencies, limits, flow and public details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from komoju_server.domain.rules import Rule


class Family(StrEnum):
    """How a payment of the method lives; methods of one family share all their code."""

    CARD = "card"  # authorized (capture=false) or captured at once
    DELAYED = "delayed"  # konbini, bank transfer, Pay-easy: the customer pays before a deadline
    PREPAID = "prepaid"  # prepaid card numbers with a balance; may be left short
    VOUCHER = "voucher"  # an id and password that pay at once
    REDIRECT = "redirect"  # the customer finishes on another site


@dataclass(frozen=True)
class Field:
    name: str
    rule: Rule
    required: bool = False
    secret: bool = False  # never answered, never logged, kept only encrypted
    on_token: bool = False  # shown in a token's payment_details


@dataclass(frozen=True)
class Deadline:
    days: int
    end_of_day: bool  # 23:59:59 Japan time of the last day, else exactly `days` later
    # Answered as `payment_deadline`; a hidden deadline still expires the payment, but the
    # payment answers null, as KOMOJU's redirect payments do (the document's examples).
    shown: bool = True
    # Set only on a payment left `pending` (a prepaid card short of the total); a payment
    # captured at once has none, as the document's WebMoney example answers.
    only_when_short: bool = False


@dataclass(frozen=True)
class Method:
    type: str
    family: Family
    fields: tuple[Field, ...]
    limits: Mapping[str, tuple[int, int]]  # currency -> (least, most) total
    shows: tuple[str, ...]  # the payment's public payment_details, in order
    refundable: bool
    partial_refunds: bool = True  # a refundable method may refund part of the total
    deadline: Deadline | None = None
    continuable: bool = False  # a short prepaid payment goes on with another card (PATCH)
    expiry_field: str | None = None  # request field that sets the deadline's days
    notes: str = ""
    # Offered by a session that names no payment_types (an alias of another type is not).
    offered_by_default: bool = True
    by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)
    # The fields never answered nor stored in the clear (a card's number and CVV...).
    secret_fields: frozenset[str] = field(init=False, repr=False, compare=False)
    # The fields a payment must give, in order (a session lists them as `additional_fields`).
    required_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "secret_fields", frozenset(f.name for f in self.fields if f.secret))
        if self.secret_fields.intersection(self.shows):
            raise ValueError(f"{self.type}: a secret field is never shown ({sorted(self.secret_fields)})")
        object.__setattr__(self, "required_fields", tuple(f.name for f in self.fields if f.required))

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(self.limits)

    @property
    def token_fields(self) -> tuple[str, ...]:
        return ("type",) + tuple(f.name for f in self.fields if f.on_token)
