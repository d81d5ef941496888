"""Processors: the sandbox for test mode; for live mode, whatever the operator configures."""

from __future__ import annotations

from komoju_server.processors.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    Processor,
    RefundRequest,
    RefundResult,
    TopUpRequest,
    Unanswered,
)
from komoju_server.processors.sandbox import SandboxProcessor


class Processors:
    """Which processor serves each mode. Live mode has none unless one is configured, and
    a live payment is then refused, never faked."""

    def __init__(self, live: Processor | None = None, test: Processor | None = None) -> None:
        self.sandbox = SandboxProcessor()
        self._by_mode: dict[str, Processor | None] = {"test": test or self.sandbox, "live": live}

    def for_mode(self, mode: str) -> Processor | None:
        return self._by_mode.get(mode)

    def scenario(self, mode: str, value: str | None) -> str | None:
        """A `Komoju-Scenario` header's failure code: test mode only, checked by the sandbox."""
        if not value or mode != "test":
            return None
        return self.sandbox.scenario(value)


__all__ = [
    "CancelRequest",
    "CaptureRequest",
    "ChargeRequest",
    "PaymentResult",
    "Processor",
    "Processors",
    "RefundRequest",
    "RefundResult",
    "SandboxProcessor",
    "TopUpRequest",
    "Unanswered",
]
