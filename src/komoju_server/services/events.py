"""Events: one per change of a payment, customer or subscription, written in the same unit of
work as the change. Webhook deliveries hang off them (see `webhooks/`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from komoju_server.domain import clock, ids
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.event import EventFilter
from komoju_server.store import Store, Write
from komoju_server.store import events as table

ABOUT_LIMIT = 200  # events of one object a page shows at most (the newest)

# Called for each new event; returns the extra writes (webhook deliveries) that go with it.
Fanout = Callable[[dict[str, Any], str, str, list[str]], list[Write]]


def build(event_type: str, data: dict[str, Any], created_at: int, reason: str | None = None) -> dict[str, Any]:
    return {
        "id": ids.new_id(),
        "type": event_type,
        "resource": "event",
        "data": data,
        "created_at": clock.iso(created_at),
        "reason": reason,
    }


class Events:
    def __init__(self, store: Store, fanout: Fanout | None = None) -> None:
        self._store = store
        self._fanout = fanout  # None: events go nowhere (tests of services without webhooks)

    def record(
        self, caller: Caller, event_type: str, data: dict[str, Any], now: int, extra_urls: list[str] | None = None
    ) -> list[Write]:
        return self.recorded(caller, event_type, data, now, extra_urls)[1]

    def recorded(
        self, caller: Caller, event_type: str, data: dict[str, Any], now: int, extra_urls: list[str] | None = None
    ) -> tuple[dict[str, Any], list[Write]]:
        """The new event, and the writes that record it with its webhook deliveries."""
        event = build(event_type, data, now)
        writes = table.insert(event, caller.merchant_id, caller.mode, now)
        if self._fanout is not None:
            writes += self._fanout(event, caller.merchant_id, caller.mode, extra_urls or [])
        return event, writes

    async def get(self, caller: Caller, event_id: str) -> dict[str, Any]:
        event = await table.get(self._store, caller.scope, event_id)
        if event is None:
            raise ApiError("not_found")
        return event

    async def page(
        self, caller: Caller, number: int, per_page: int, filter_: EventFilter | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """Newest first; `filter_` narrows the list to some event types and a time range."""
        return await table.page(self._store, caller.scope, filter_ or EventFilter(), number, per_page)

    async def page_answers(
        self, caller: Caller, number: int, per_page: int, filter_: EventFilter | None = None
    ) -> tuple[int, list[orjson.Fragment]]:
        """`page`, each event as the JSON it was stored as, which is its answer: carried into
        the list's answer as it is, not decoded and encoded again."""
        total, docs = await table.page_docs(self._store, caller.scope, filter_ or EventFilter(), number, per_page)
        return total, [orjson.Fragment(doc) for doc in docs]

    async def about(self, caller: Caller, subject_id: str, limit: int = ABOUT_LIMIT) -> list[dict[str, Any]]:
        """The events about one payment, customer, subscription or webhook, oldest first."""
        return await table.about(self._store, caller.scope, subject_id, limit)
