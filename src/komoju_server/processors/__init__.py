"""Processors: the sandbox for test mode; for live mode, whatever the operator configures."""

from __future__ import annotations

from komoju_server.processors.base import Charge, Outcome, Processor
from komoju_server.processors.sandbox import SandboxProcessor


class Processors:
    """Which processor serves each mode. Live mode has none unless one is configured, and
    a live payment is then refused, never faked."""

    def __init__(self, live: Processor | None = None) -> None:
        self._by_mode: dict[str, Processor | None] = {"test": SandboxProcessor(), "live": live}

    def for_mode(self, mode: str) -> Processor | None:
        return self._by_mode.get(mode)


__all__ = ["Charge", "Outcome", "Processor", "Processors", "SandboxProcessor"]
