"""The customer service on a real SQLite store: the events it writes with each change, what it
seals (never the CVV), and that deleting erases the sealed details."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.customers import Customers
from komoju_server.services.events import Events
from komoju_server.services.tokens import Tokens
from komoju_server.store import Store, open_store
from komoju_server.store.vault import Vault
from tests.services.test_tokens import CALLER, CARD, START, MerchantClock

VAULT = Vault(bytes(32))


class World:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = MerchantClock(START)
        self.events = Events(store)
        self.tokens = Tokens(store, self.clock, VAULT)  # type: ignore[arg-type]
        self.customers = Customers(store, self.clock, self.events, VAULT, self.tokens)  # type: ignore[arg-type]


def run_with(tmp_path: Path, body: Callable[[World], Awaitable[None]]) -> None:
    async def main() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'customers.db'}")
        await store.migrate()
        await store.open()
        try:
            await body(World(store))
        finally:
            await store.close()

    asyncio.run(main())


def test_each_change_writes_its_event_with_the_customer(tmp_path: Path):
    async def body(world: World) -> None:
        customer = await world.customers.create(CALLER, {"payment_details": CARD, "email": "a@example.com"}, None)
        created = customer.to_api()
        world.clock.value += 60
        updated = (await world.customers.update(CALLER, customer.id, {"email": "b@example.com"})).to_api()
        world.clock.value += 60
        deleted = (await world.customers.delete(CALLER, customer.id)).to_api()
        assert deleted == updated and updated["email"] == "b@example.com"
        total, events = await world.events.page(CALLER, 1, 10)
        assert total == 3
        assert [(e["type"], e["data"], e["created_at"]) for e in events] == [
            ("customer.deleted", deleted, "2027-01-15T08:02:00Z"),
            ("customer.updated", updated, "2027-01-15T08:01:00Z"),
            ("customer.created", created, "2027-01-15T08:00:00Z"),
        ]

    run_with(tmp_path, body)


def test_the_cvv_is_never_kept_and_deleting_erases_the_details(tmp_path: Path):
    async def body(world: World) -> None:
        customer = await world.customers.create(CALLER, {"payment_details": CARD}, "card_declined")
        row = await world.store.fetch_one("SELECT secret FROM customers WHERE id = ?", (customer.id,))
        assert row is not None
        sealed = VAULT.open(row[0], "customers", customer.id)
        assert sealed == {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}
        resolved = await world.customers.details_for_charge(CALLER, customer.id, START)
        assert (resolved.details, resolved.customer, resolved.scenario, resolved.writes) == (
            sealed,
            customer.id,
            "card_declined",
            [],
        )
        await world.customers.delete(CALLER, customer.id)
        assert await world.store.fetch_one("SELECT 1 FROM customers WHERE id = ?", (customer.id,)) is None
        with pytest.raises(ApiError) as caught:
            await world.customers.details_for_charge(CALLER, customer.id, START)
        assert (caught.value.code, caught.value.param) == ("invalid_parameter", "customer")

    run_with(tmp_path, body)


def test_a_customer_from_a_card_token_keeps_no_cvv(tmp_path: Path):
    async def body(world: World) -> None:
        token = await world.tokens.create(CALLER, {"payment_details": CARD})
        customer = await world.customers.create(CALLER, {"payment_details": token.id}, None)
        resolved = await world.customers.details_for_charge(CALLER, customer.id, START)
        assert "verification_value" not in resolved.details
        assert resolved.details["number"] == "4111111111111111"
        token_row = await world.store.fetch_one("SELECT used_at, secret FROM tokens WHERE id = ?", (token.id,))
        assert token_row == (START, None)  # the token is used up and holds nothing any more

    run_with(tmp_path, body)


def test_other_merchants_cannot_charge_or_see_the_customer(tmp_path: Path):
    async def body(world: World) -> None:
        customer = await world.customers.create(CALLER, {"payment_details": CARD}, None)
        stranger = Caller("merchant2", "test", "secret")
        with pytest.raises(ApiError) as caught:
            await world.customers.details_for_charge(stranger, customer.id, START)
        assert (caught.value.code, caught.value.param) == ("invalid_parameter", "customer")
        with pytest.raises(ApiError) as missing:
            await world.customers.get(stranger, customer.id)
        assert missing.value.code == "not_found"

    run_with(tmp_path, body)
