"""The event log's list filter (the events themselves are documents: `services/events.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from komoju_server.domain.clock import TimeRange


@dataclass(frozen=True)
class EventFilter:
    """What a list of events is narrowed to; None is no condition."""

    types: tuple[str, ...] | None = None  # any of these event types (`type=payment.captured,...`)
    created: TimeRange = TimeRange()
