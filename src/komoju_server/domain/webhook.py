"""Webhook endpoints and their deliveries: what is stored, and how it is answered.

Endpoints (`/api/v1/webhooks`) are this server's extension: KOMOJU manages webhooks in its
dashboard. A delivery is one event sent to one URL, tried until a 2xx answer or until the
retry schedule gives up; every try is an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from komoju_server.domain.clock import iso

# Every event type KOMOJU sends (its webhooks documentation); an endpoint may subscribe to any.
EVENT_TYPES: tuple[str, ...] = (
    "ping",
    "payment.authorized",
    "payment.captured",
    "payment.updated",
    "payment.expired",
    "payment.cancelled",
    "payment.refund.created",
    "payment.refunded",
    "payment.failed",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "subscription.created",
    "subscription.captured",
    "subscription.failed",
    "subscription.suspended",
    "subscription.deleted",
)
PING = "ping"

# Delivery statuses.
PENDING = "pending"  # waiting for its first attempt or its next retry
SUCCEEDED = "succeeded"  # a 2xx answer came back
FAILED = "failed"  # the retry schedule gave up
CANCELLED = "cancelled"  # its endpoint was deleted (or its event erased) before it was sent

# Attempt statuses.
SENDING = "sending"  # under way (or cut short by a crash, until the delivery is claimed again)
INTERRUPTED = "interrupted"  # the server stopped before the answer was recorded: outcome unknown


@dataclass(slots=True)
class Endpoint:
    id: str
    merchant_id: str
    mode: str
    url: str
    events: tuple[str, ...] | None  # None: every event
    created_at: int

    def to_api(self) -> dict[str, Any]:
        # The secret token is never answered: only the receiver and the creator know it.
        return {
            "id": self.id,
            "resource": "webhook",
            "url": self.url,
            "events": None if self.events is None else list(self.events),
            "created_at": iso(self.created_at),
        }


def encode_events(events: tuple[str, ...] | None) -> str | None:
    """Stored as `,a,b,` so that one LIKE finds an endpoint subscribed to a type."""
    return None if events is None else "," + ",".join(events) + ","


def decode_events(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(t for t in text.split(",") if t)


@dataclass(slots=True)
class Attempt:
    number: int
    status: str
    response_code: int | None
    error: str | None
    started_ms: int
    duration_ms: int | None
    # Read for the dashboard only (not answered by the API): the X-Komoju-Signature sent, and
    # the start of the receiver's answer as text.
    signature: str | None = None
    response_body: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status,
            "response_code": self.response_code,
            "error": self.error,
            "attempted_at": iso(self.started_ms // 1000),
            "duration_ms": self.duration_ms,
        }


@dataclass(slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    endpoint_id: str | None
    url: str
    status: str
    next_attempt_ms: int | None
    created_at: int
    attempts: list[Attempt] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "webhook_delivery",
            "event": self.event_id,
            "event_type": self.event_type,
            "webhook": self.endpoint_id,
            "url": self.url,
            "status": self.status,
            "next_attempt_at": self._next_attempt_at(),
            "attempts": [a.to_api() for a in self.attempts],
            "created_at": iso(self.created_at),
        }

    def _next_attempt_at(self) -> str | None:
        if self.status != PENDING or self.next_attempt_ms is None:
            return None
        return iso(self.next_attempt_ms // 1000)
