"""Webhooks: the endpoints a merchant registers (this server's extension of KOMOJU's API), the
outbox fanout that every event goes through, and sending an event again.

Where an event goes:
- every live endpoint of the merchant (in the event's mode) subscribed to its type, each
  delivery signed with that endpoint's secret token;
- `serve --webhook-url` (every merchant's events, both modes), signed with `--webhook-secret`;
- the payment's own `webhooks` URLs, signed with `--webhook-secret` too (they have no secret
  of their own; without `--webhook-secret` they go unsigned, with no X-Komoju-Signature).
A `ping` goes to its endpoint alone.

The deliveries are rows written by `fanout` in the unit of work of the event itself (an
outbox), so an event is never recorded without its deliveries nor sent without having been
recorded. The worker (`webhooks/worker.py`) sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from komoju_server.domain import clock, ids, params, rules
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.webhook import EVENT_TYPES, PING, Delivery, Endpoint
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.store import Conflict, Store, Write
from komoju_server.store import webhooks as table
from komoju_server.store.vault import LazyVault

SECRET_MAX = 255


class Webhooks:
    def __init__(self, store: Store, clock_: Clock, events: Events, vault: LazyVault, url: str | None) -> None:
        self._store = store
        self._clock = clock_
        self._events = events
        self._vault = vault
        self._url = url  # serve --webhook-url
        # Tells the delivery worker that deliveries are being written (called before they commit).
        self.notify: Callable[[], None] | None = None
        # The (merchant, mode) scopes that have endpoints, kept only where this process is the
        # database's sole writer (SQLite): there it is exact, and the events of the many
        # merchants without endpoints skip the fanout statement. Where other processes add
        # endpoints (PostgreSQL), None: the database decides at every event.
        self._scopes_with_endpoints: set[tuple[str, str]] | None = None

    async def start(self) -> None:
        if self._store.kind == "sqlite":
            self._scopes_with_endpoints = await table.scopes_with_endpoints(self._store)

    # -- the outbox ---------------------------------------------------------------------------

    def fanout(self, event: dict[str, Any], merchant_id: str, mode: str, extra_urls: list[str]) -> list[Write]:
        """The delivery rows of a new event (the `Events.fanout` hook)."""
        scope = (merchant_id, mode)
        if event["type"] == PING:
            writes = [_ping_fanout(event, scope)]
        else:
            writes = self._deliveries(event["id"], event["type"], scope, extra_urls)
        if writes:
            self._notify()
        return writes

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

    def _notify(self) -> None:
        if self.notify is not None:
            self.notify()

    async def redeliver(self, caller: Caller, event_id: str) -> dict[str, Any]:
        """Sends an event again, as new deliveries, to wherever it would go now: the endpoints
        subscribed to it today, --webhook-url, and the per-payment URLs it went to before."""
        event = await self._events.get(caller, event_id)
        if event["type"] == PING:
            writes = [_ping_fanout(event, caller.scope)]
        else:
            urls = await table.payment_urls(self._store, event_id)
            writes = self._deliveries(event_id, event["type"], caller.scope, urls)
        await self._store.run(writes)
        self._notify()
        return event

    # -- endpoints ----------------------------------------------------------------------------

    async def create(self, caller: Caller, body: dict[str, Any]) -> Endpoint:
        url = body.get("url")
        if not params.present(url):
            raise missing("url")
        secret = body.get("secret_token")
        if not params.present(secret):
            raise missing("secret_token")
        if not isinstance(secret, str) or len(secret) > SECRET_MAX:
            raise invalid("secret_token")
        endpoint = Endpoint(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            url=rules.url(url, "url"),
            events=event_filter(body.get("events")),
            created_at=await self._clock.now(caller),
        )
        sealed = self._vault.seal({"secret_token": secret}, table.SECRET_TABLE, endpoint.id)
        if self._scopes_with_endpoints is not None:
            # Before the endpoint commits, so no event committed after it can miss it; should the
            # unit fail, an extra scope here only costs its events a fanout that finds nothing.
            self._scopes_with_endpoints.add(caller.scope)
        # The endpoint and its ping commit together: creating one always sends the ping.
        unit = [table.insert_endpoint(endpoint, sealed)]
        unit += self._events.record(caller, PING, endpoint.to_api(), endpoint.created_at)
        await self._store.run(unit)
        self._notify()
        return endpoint

    async def get(self, caller: Caller, endpoint_id: str) -> Endpoint:
        endpoint = await table.get_endpoint(self._store, caller.scope, endpoint_id)
        if endpoint is None:
            raise ApiError("not_found")
        return endpoint

    async def page(self, caller: Caller, number: int, per_page: int) -> tuple[int, list[Endpoint]]:
        return await table.page_endpoints(self._store, caller.scope, number, per_page)

    async def delete(self, caller: Caller, endpoint_id: str) -> Endpoint:
        endpoint = await self.get(caller, endpoint_id)
        try:
            await self._store.run(table.delete_endpoint(caller.scope, endpoint_id, await self._clock.now(caller)))
        except Conflict as conflict:  # deleted by a concurrent request
            raise ApiError("not_found") from conflict
        return endpoint

    # -- deliveries ---------------------------------------------------------------------------

    async def deliveries(
        self, caller: Caller, endpoint_id: str, number: int, per_page: int
    ) -> tuple[int, list[Delivery]]:
        await self.get(caller, endpoint_id)
        return await table.page_deliveries(
            self._store, caller.scope, ("endpoint_id = ?", (endpoint_id,)), number, per_page
        )

    async def event_deliveries(
        self, caller: Caller, event_id: str, number: int, per_page: int
    ) -> tuple[int, list[Delivery]]:
        await self._events.get(caller, event_id)
        return await table.page_deliveries(self._store, caller.scope, ("event_id = ?", (event_id,)), number, per_page)


def _ping_fanout(event: dict[str, Any], scope: tuple[str, str]) -> Write:
    """A ping's data is its endpoint: it goes there alone, if the endpoint still exists."""
    now_ms = clock.now_ms()
    return table.fanout_to_endpoints(
        ids.new_id(), event["id"], PING, scope, now_ms // 1000, now_ms, only_endpoint=str(event["data"]["id"])
    )


def event_filter(value: Any) -> tuple[str, ...] | None:
    """`events`: a list of event types (or one as a string); omitted or null means every event."""
    if value is None or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise invalid("events")
    clean: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in EVENT_TYPES:
            raise invalid("events")
        if item not in clean:
            clean.append(item)
    return tuple(clean)


