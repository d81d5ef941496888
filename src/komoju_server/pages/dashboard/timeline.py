"""A timeline: an object's events, oldest first, each with every webhook delivery and every
attempt of it, with the request sent and what the receiver answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from komoju_server.domain.caller import Caller
from komoju_server.domain.webhook import Attempt, Delivery
from komoju_server.runtime import Runtime
from komoju_server.webhooks import signing
from komoju_server.webhooks.worker import USER_AGENT


def pretty(value: Any) -> str:
    """JSON as people read it: indented, keys in the order the API answers them."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


@dataclass
class Moment:
    """One event of a timeline, with its webhook deliveries."""

    event: dict[str, Any]
    body: str  # the event as sent, indented
    deliveries: list[Delivery] = field(default_factory=list)


def request_sent(delivery: Delivery, attempt: Attempt, body: str) -> str:
    """An attempt's request as it went (webhooks/worker.py); the body is shown indented, the
    signature is over the body as sent (compact)."""
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("X-Komoju-ID", delivery.id),
        ("X-Komoju-Event", delivery.event_type),
    ]
    if attempt.signature:
        headers.append((signing.HEADER, attempt.signature))
    lines = [f"POST {delivery.url}", *(f"{name}: {value}" for name, value in headers), "", body]
    return "\n".join(lines)


def answer_received(attempt: Attempt) -> str:
    """What the receiver answered: its status line and the start of its body ("" if it did not)."""
    if attempt.response_code is None:
        return ""
    return f"HTTP {attempt.response_code}\n\n{attempt.response_body or ''}"


async def timeline(runtime: Runtime, caller: Caller, subject_id: str) -> list[Moment]:
    """An object's events, oldest first, each with every delivery and attempt."""
    events = await runtime.events.about(caller, subject_id)
    moments = {event["id"]: Moment(event, pretty(event)) for event in events}
    for delivery in await runtime.webhooks.of_events(caller, list(moments)):
        moments[delivery.event_id].deliveries.append(delivery)
    return list(moments.values())
