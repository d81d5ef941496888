"""The webhook outbox: the delivery rows every new event gets, written in the event's own unit
of work, so an event is never recorded without its deliveries nor sent without having been
recorded. The worker (`webhooks/worker.py`) sends them.

Where an event goes:
- every live endpoint of the merchant (in the event's mode) subscribed to its type, each
  delivery signed with that endpoint's secret token;
- `serve --webhook-url` (every merchant's events, both modes), signed with `--webhook-secret`;
- the payment's own `webhooks` URLs, signed with `--webhook-secret` too (they have no secret
  of their own; without `--webhook-secret` they go unsigned, with no X-Komoju-Signature).
A `ping` goes to its endpoint alone.

This is its own object, apart from the webhooks service, because two sides need it: every
event goes through `fanout` (the events service is built with it), and the webhooks service,
which records events itself (pings), sends events again and adds endpoints.
"""

from __future__ import annotations

from typing import Any

from komoju_server.domain import clock, ids
from komoju_server.domain.webhook import PING
from komoju_server.store import Store, Write
from komoju_server.store import webhooks as table


class Outbox:
    def __init__(self, store: Store, url: str | None) -> None:
        self._store = store
        self._url = url  # serve --webhook-url
        # The (merchant, mode) scopes that have endpoints, kept only where this process is the
        # database's sole writer (SQLite): there it is exact, and the events of the many
        # merchants without endpoints skip the fanout statement. Where other processes add
        # endpoints (PostgreSQL), None: the database decides at every event.
        self._scopes_with_endpoints: set[tuple[str, str]] | None = None

    async def start(self) -> None:
        if self._store.kind == "sqlite":
            self._scopes_with_endpoints = await table.scopes_with_endpoints(self._store)

    def fanout(self, event: dict[str, Any], merchant_id: str, mode: str, extra_urls: list[str]) -> list[Write]:
        """The delivery rows of a new event (the events service's `Fanout`). Once they commit,
        if there are any, the store wakes the worker (`store.webhooks.DELIVERIES`)."""
        return self._for_event(event, (merchant_id, mode), extra_urls)

    def again(self, event: dict[str, Any], scope: tuple[str, str], payment_urls: list[str]) -> list[Write]:
        """New deliveries of a recorded event, to wherever it would go now: the endpoints
        subscribed to it today, --webhook-url, and `payment_urls`."""
        return self._for_event(event, scope, payment_urls)

    def endpoint_added(self, scope: tuple[str, str]) -> None:
        """Call before the endpoint commits, so no event committed after it can miss it; should
        the unit fail, an extra scope here only costs its events a fanout that finds nothing."""
        if self._scopes_with_endpoints is not None:
            self._scopes_with_endpoints.add(scope)

    def _for_event(self, event: dict[str, Any], scope: tuple[str, str], payment_urls: list[str]) -> list[Write]:
        if event["type"] == PING:
            return [_ping_fanout(event, scope)]
        return self._deliveries(event["id"], event["type"], scope, payment_urls)

    def _deliveries(
        self, event_id: str, event_type: str, scope: tuple[str, str], payment_urls: list[str]
    ) -> list[Write]:
        to_endpoints = self._scopes_with_endpoints is None or scope in self._scopes_with_endpoints
        if not to_endpoints and not self._url and not payment_urls:
            return []  # most events of most merchants: nowhere to go
        now_ms = clock.now_ms()
        created = now_ms // 1000
        writes: list[Write] = []
        if to_endpoints:
            writes.append(table.fanout_to_endpoints(ids.new_id(), event_id, event_type, scope, created, now_ms))
        sent: set[str] = set()
        for source, url in [("setting", self._url), *(("payment", u) for u in payment_urls)]:
            if url and url not in sent:  # one URL, one secret: sent once
                sent.add(url)
                writes.append(
                    table.insert_delivery(ids.new_id(), event_id, event_type, scope, None, source, url, created, now_ms)
                )
        return writes


def _ping_fanout(event: dict[str, Any], scope: tuple[str, str]) -> Write:
    """A ping's data is its endpoint: it goes there alone, if the endpoint still exists."""
    now_ms = clock.now_ms()
    return table.fanout_to_endpoints(
        ids.new_id(), event["id"], PING, scope, now_ms // 1000, now_ms, only_endpoint=str(event["data"]["id"])
    )
