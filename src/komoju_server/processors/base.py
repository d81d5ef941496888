"""The processor interface: what any payment processor, sandbox or real, must do.

A processor is told to charge, to go on with a short prepaid payment, to capture, refund
and cancel. Declines are raised as `ApiError` with KOMOJU's code (a 502 for most).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from komoju_server.domain.payment import Payment
from komoju_server.methods import Method


@dataclass(frozen=True)
class Charge:
    payment_id: str
    method: Method
    details: dict[str, Any]  # the cleaned request details, secrets included
    total: int
    currency: str
    capture: bool
    created_at: int
    base_url: str
    locale: str
    scenario: str | None = None


@dataclass
class Outcome:
    status: str  # "captured", "authorized" or "pending"
    details: dict[str, Any] = field(default_factory=dict)  # public details the processor made


class Processor(Protocol):
    name: str

    async def charge(self, charge: Charge) -> Outcome: ...

    async def top_up(self, payment: Payment, details: dict[str, Any], scenario: str | None) -> Outcome:
        """Pay what a pending prepaid payment still lacks with another card."""
        ...

    async def capture(self, payment: Payment) -> None: ...

    async def refund(self, payment: Payment, amount: int) -> None: ...

    async def cancel(self, payment: Payment) -> None: ...
