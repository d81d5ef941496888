"""Webhooks: the endpoints a merchant registers (this server's extension of KOMOJU's API), their
deliveries, and sending an event again. Where events go, and how their deliveries are written
with them, is the outbox's business (`services/outbox.py`).
"""

from __future__ import annotations

from typing import Any

from komoju_server.domain import ids, params, rules
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError, invalid, missing
from komoju_server.domain.webhook import EVENT_TYPES, PING, Delivery, Endpoint
from komoju_server.services import answers
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.services.outbox import Outbox
from komoju_server.store import Conflict, Store
from komoju_server.store import webhooks as table
from komoju_server.store.vault import LazyVault
from komoju_server.webhooks import policy

SECRET_MAX = 255


class Webhooks:
    def __init__(
        self,
        store: Store,
        clock_: Clock,
        events: Events,
        vault: LazyVault,
        outbox: Outbox,
        allow_private: bool = True,
    ) -> None:
        self._allow_private = allow_private  # the outbound policy's switch (webhooks/policy.py)
        self._store = store
        self._clock = clock_
        self._events = events
        self._vault = vault
        self._outbox = outbox

    async def redeliver(self, caller: Caller, event_id: str) -> dict[str, Any]:
        """Sends an event again, as new deliveries, to wherever it would go now: the endpoints
        subscribed to it today, --webhook-url, and the per-payment URLs it went to before."""
        event = await self._events.get(caller, event_id)
        urls = [] if event["type"] == PING else await table.payment_urls(self._store, event_id)
        await self._store.run([*self._outbox.again(event, caller.scope, urls), *answers.writes_for(200, event)])
        return event

    # -- endpoints ----------------------------------------------------------------------------

    async def create(self, caller: Caller, body: dict[str, Any]) -> Endpoint:
        url = body.get("url")
        if not params.present(url):
            raise missing("url")
        secret = secret_token(body.get("secret_token"))
        endpoint = Endpoint(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            url=self._receiver(url),
            events=event_filter(body.get("events")),
            created_at=await self._clock.now(caller),
        )
        sealed = self._vault.seal({"secret_token": secret}, table.SECRET_TABLE, endpoint.id)
        self._outbox.endpoint_added(caller.scope)
        # The endpoint and its ping commit together: creating one always sends the ping.
        unit = [table.insert_endpoint(endpoint, sealed)]
        unit += self._events.record(caller, PING, endpoint.to_api(), endpoint.created_at)
        await self._store.run([*unit, *answers.writes_for(200, endpoint.to_api())])
        return endpoint

    def _receiver(self, value: Any) -> str:
        """An endpoint's URL. One written with an address the outbound policy refuses (a
        literal private address while they are not allowed) is refused now, as KOMOJU refuses a
        URL it will not call; a name is resolved and checked at every delivery."""
        url = rules.url(value, "url")
        if policy.literal_refusal(url, self._allow_private) is not None:
            raise invalid("url")
        return url

    async def get(self, caller: Caller, endpoint_id: str) -> Endpoint:
        endpoint = await table.get_endpoint(self._store, caller.scope, endpoint_id)
        if endpoint is None:
            raise ApiError("not_found")
        return endpoint

    async def page(self, caller: Caller, number: int, per_page: int) -> tuple[int, list[Endpoint]]:
        return await table.page_endpoints(self._store, caller.scope, number, per_page)

    async def update(self, caller: Caller, endpoint_id: str, body: dict[str, Any]) -> Endpoint:
        """Changes what is given of `url`, `secret_token` and `events` (null: every event)."""
        endpoint = await self.get(caller, endpoint_id)
        if "url" in body:
            if not params.present(body["url"]):
                raise missing("url")
            endpoint.url = self._receiver(body["url"])
        sealed = None
        if "secret_token" in body:
            sealed = self._vault.seal(
                {"secret_token": secret_token(body["secret_token"])}, table.SECRET_TABLE, endpoint.id
            )
        if "events" in body:
            endpoint.events = event_filter(body["events"])
        try:
            await self._store.run(
                [table.update_endpoint(endpoint, sealed), *answers.writes_for(200, endpoint.to_api())]
            )
        except Conflict as conflict:  # deleted by a concurrent request
            raise ApiError("not_found") from conflict
        return endpoint

    async def ping(self, caller: Caller, endpoint_id: str) -> dict[str, Any]:
        """Sends the endpoint a new `ping` event (its data is the endpoint), as creating it did."""
        endpoint = await self.get(caller, endpoint_id)
        now = await self._clock.now(caller)
        event, unit = self._events.recorded(caller, PING, endpoint.to_api(), now)
        await self._store.run([*unit, *answers.writes_for(200, event)])
        return event

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

    async def of_events(self, caller: Caller, event_ids: list[str]) -> list[Delivery]:
        """Every delivery of these events (the merchant's), with each attempt's signature and
        the start of the receiver's answer: a timeline's webhooks."""
        return await table.of_events(self._store, caller.scope, event_ids)


def secret_token(value: Any) -> str:
    if not params.present(value):
        raise missing("secret_token")
    if not isinstance(value, str) or len(value) > SECRET_MAX:
        raise invalid("secret_token")
    return value


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
