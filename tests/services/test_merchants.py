"""Merchants and their keys on a real store (SQLite and PostgreSQL): test keys kept sealed and
listed again, rotation, and the key ring's cache that a rotation elsewhere outlives by at most
its time to live."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.ids import MAX_KEY_LENGTH
from komoju_server.services import merchants
from komoju_server.services.merchants import KeyRing
from komoju_server.store import Store, Write, open_store
from komoju_server.store.vault import Vault
from tests.support import with_store

VAULT = Vault(bytes(range(32)))
OTHER_VAULT = Vault(bytes(32))


def run(database_url: str, body: Callable[[Store], Awaitable[None]]) -> None:
    with_store(database_url, body)


def test_test_keys_are_listed_again_in_the_order_merchants_were_made(database_url: str):
    async def body(store: Store) -> None:
        made = [
            await merchants.create_merchant(store, "first", "sk_test_first", "pk_test_first", vault=VAULT),
            await merchants.create_merchant(store, "second", vault=VAULT),
            await merchants.create_merchant(store, "third", vault=VAULT),
        ]
        listed = await merchants.list_merchants(store, VAULT)
        assert [(m.merchant_id, m.name) for m in listed] == [
            (k.merchant_id, n) for k, n in zip(made, ("first", "second", "third"), strict=True)
        ]
        for merchant, keys in zip(listed, made, strict=True):
            assert merchant.test_secret_key == keys.keys[("secret", "test")]
            assert merchant.test_publishable_key == keys.keys[("publishable", "test")]
            assert merchant.note is None
        assert listed[0].test_secret_key == "sk_test_first"
        assert [m.merchant_id for m in await merchants.list_merchants(store, VAULT, limit=1)] == [made[0].merchant_id]
        # Live keys are never kept.
        rows = await store.fetch_all("SELECT mode, sealed FROM api_keys WHERE mode = 'live'")
        assert len(rows) == 6 and all(row[1] is None for row in rows)
        # A sealed key opens for its own row only, and under this vault's key only.
        assert {m.note for m in await merchants.list_merchants(store, OTHER_VAULT)} == {merchants.NOT_OPENED}
        other = await merchants.list_merchants(store, OTHER_VAULT)
        assert {(m.test_secret_key, m.test_publishable_key) for m in other} == {(None, None)}

    run(database_url, body)


def test_keys_made_before_they_were_kept_say_so(database_url: str):
    async def body(store: Store) -> None:
        old = await merchants.create_merchant(store, "old")  # no vault: as before migration 8
        (listed,) = await merchants.list_merchants(store, VAULT)
        assert (listed.test_secret_key, listed.test_publishable_key) == (None, None)
        assert listed.note == merchants.NOT_KEPT.format(id=old.merchant_id)
        assert "rotate-keys" in listed.note

    run(database_url, body)


def test_rotation_replaces_the_chosen_modes_keys_in_one_unit(database_url: str):
    async def body(store: Store) -> None:
        made = await merchants.create_merchant(store, vault=VAULT)
        ring = KeyRing(store)
        old_test = made.keys[("secret", "test")]
        old_live = made.keys[("secret", "live")]
        assert await ring.caller(old_test) == Caller(made.merchant_id, "test", "secret")

        rotated = await merchants.rotate_keys(store, made.merchant_id, ["test"], VAULT, keyring=ring)
        assert set(rotated.keys) == {("secret", "test"), ("publishable", "test")}
        assert rotated.keys[("secret", "test")].startswith("sk_test_")
        assert await ring.caller(old_test) is None  # this process's ring forgot at once
        assert await ring.caller(made.keys[("publishable", "test")]) is None
        assert await ring.caller(rotated.keys[("secret", "test")]) == Caller(made.merchant_id, "test", "secret")
        assert await ring.caller(old_live) == Caller(made.merchant_id, "live", "secret")  # untouched
        (listed,) = await merchants.list_merchants(store, VAULT)
        assert listed.test_secret_key == rotated.keys[("secret", "test")]

        everything = await merchants.rotate_keys(store, made.merchant_id, ["test", "live"], VAULT)
        assert len(everything.keys) == 4
        assert await KeyRing(store).caller(old_live) is None
        assert await KeyRing(store).caller(everything.keys[("publishable", "live")]) == Caller(
            made.merchant_id, "live", "publishable"
        )
        rows = await store.fetch_all("SELECT COUNT(*) FROM api_keys WHERE merchant_id = ?", (made.merchant_id,))
        assert rows[0][0] == 4

        with pytest.raises(merchants.UnknownMerchant):
            await merchants.rotate_keys(store, "nosuchmerchant", ["test"], VAULT)

    run(database_url, body)


def test_a_key_deleted_elsewhere_stops_working_once_the_ring_looks_again(sqlite_url: str):
    """Another process (the CLI, another server process) rotates: this ring's cached key lives
    at most `ttl` longer, then the database is asked again."""

    async def body(store: Store) -> None:
        made = await merchants.create_merchant(store, vault=VAULT)
        key = made.keys[("secret", "test")]
        now = [100.0]
        ring = KeyRing(store, ttl=1.0, monotonic=lambda: now[0])
        assert await ring.caller(key) is not None
        await merchants.rotate_keys(store, made.merchant_id, ["test"], VAULT)  # no ring: as from elsewhere
        now[0] = 100.9
        assert await ring.caller(key) is not None  # still within its second
        now[0] = 101.0
        assert await ring.caller(key) is None
        now[0] = 101.5
        assert await ring.caller(key) is None

    run(sqlite_url, body)


def counted(store: Store) -> list[int]:
    """Counts the store's look-ups of API keys (in the list's one item)."""
    lookups = [0]
    real = store.fetch_one

    async def counting(sql: str, params: tuple = ()) -> object:
        lookups[0] += "api_keys" in sql
        return await real(sql, params)

    store.fetch_one = counting  # type: ignore[method-assign]
    return lookups


def test_an_unknown_key_is_looked_up_only_once_per_unknown_ttl(database_url: str):
    async def body(store: Store) -> None:
        lookups = counted(store)
        now = [0.0]
        ring = KeyRing(store, monotonic=lambda: now[0])
        for step in range(30):
            now[0] = step * 0.1
            assert await ring.caller("sk_test_nobody") is None
        assert lookups[0] == 3  # at 0.0, 1.0, 2.0 (UNKNOWN_KEY_CACHE_SECONDS = 1)
        assert await ring.caller("sk_test_somebody_else") is None
        assert lookups[0] == 4  # each unknown key on its own

    run(database_url, body)


def test_a_key_made_elsewhere_works_within_the_unknown_ttl_and_one_made_here_at_once(database_url: str):
    async def body(store: Store) -> None:
        now = [10.0]
        ring = KeyRing(store, monotonic=lambda: now[0])
        assert await ring.caller("sk_test_made_elsewhere") is None
        await merchants.create_merchant(store, "elsewhere", "sk_test_made_elsewhere", vault=VAULT)  # no ring
        now[0] = 10.9
        assert await ring.caller("sk_test_made_elsewhere") is None  # still taken for unknown
        now[0] = 11.0
        found = await ring.caller("sk_test_made_elsewhere")
        assert found is not None and (found.mode, found.key_kind) == ("test", "secret")

        assert await ring.caller("sk_test_made_here") is None
        made = await merchants.create_merchant(store, "here", "sk_test_made_here", vault=VAULT, keyring=ring)
        assert await ring.caller("sk_test_made_here") == Caller(made.merchant_id, "test", "secret")

    run(database_url, body)


def test_a_known_key_is_looked_up_again_only_once_per_ttl(sqlite_url: str):
    async def body(store: Store) -> None:
        made = await merchants.create_merchant(store, vault=VAULT)
        key = made.keys[("secret", "test")]
        lookups = 0
        real = store.fetch_one

        async def counting(sql: str, params: tuple = ()) -> object:
            nonlocal lookups
            lookups += "api_keys" in sql
            return await real(sql, params)

        store.fetch_one = counting  # type: ignore[method-assign]
        now = [0.0]
        ring = KeyRing(store, ttl=1.0, monotonic=lambda: now[0])
        for step in range(30):
            now[0] = step * 0.1
            assert await ring.caller(key) is not None
        assert lookups == 3  # at 0.0, 1.0, 2.0

    run(sqlite_url, body)


def test_merchants_made_in_the_same_second_keep_their_order(sqlite_url: str):
    async def body(store: Store) -> None:
        ids = []
        for n in range(5):
            ids.append((await merchants.create_merchant(store, f"m{n}")).merchant_id)
            await store.run([Write("UPDATE merchants SET created_at = 1 WHERE id = ?", (ids[-1],))])
        assert [m.merchant_id for m in await merchants.list_merchants(store, VAULT)] == ids

    run(sqlite_url, body)


def test_a_database_from_before_keeps_its_merchants_oldest_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"

    async def main() -> None:
        store = open_store(url)
        await store.migrate(upto=7)
        await store.open()
        try:
            await store.run(
                [
                    Write("INSERT INTO merchants (id, name, created_at) VALUES ('older', 'a', 10)"),
                    Write("INSERT INTO merchants (id, name, created_at) VALUES ('newer', 'b', 20)"),
                ]
            )
        finally:
            await store.close()
        store = open_store(url)
        await store.migrate()
        await store.open()
        try:
            await merchants.create_merchant(store, "c", vault=VAULT)
            assert [m.name for m in await merchants.list_merchants(store, VAULT)] == ["a", "b", "c"]
        finally:
            await store.close()

    asyncio.run(main())


def _ruby_encode64(data: bytes) -> str:
    """Ruby's Base64.encode64: base64 with a line break after every 60 characters, and at the end."""
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


KEY_SHAPES = {
    ("secret", "test"): r"sk_test_[a-z0-9]{32}",
    ("publishable", "test"): r"pk_test_[a-z0-9]{32}",
    ("secret", "live"): r"sk_live_[a-z0-9]{32}",
    ("publishable", "live"): r"pk_live_[a-z0-9]{32}",
}


def test_every_key_made_fits_a_basic_header_built_by_ruby_on_one_line(database_url: str):
    async def body(store: Store) -> None:
        made = [
            await merchants.ensure_merchant(store, None, None, vault=VAULT),  # a new database's merchant
            await merchants.create_merchant(store, "created", vault=VAULT),
        ]
        assert made[0] is not None
        rotated = await merchants.rotate_keys(store, made[1].merchant_id, ("test", "live"), VAULT)
        keys = [item for merchant in (*made, rotated) if merchant for item in merchant.keys.items()]
        assert len(keys) == 12
        for slot, key in keys:
            assert re.fullmatch(KEY_SHAPES[slot], key), key
            assert len(key) == 40 <= MAX_KEY_LENGTH
            # ActiveMerchant's KOMOJU gateway: "Basic " + Base64.encode64("#{key}:").strip
            header = "Basic " + _ruby_encode64(f"{key}:".encode()).strip()
            assert "\n" not in header
            assert base64.b64decode(header[6:]) == f"{key}:".encode()
        # The longest key that still fits, and one character more, which breaks the header.
        assert "\n" not in _ruby_encode64(b"k" * MAX_KEY_LENGTH + b":").strip()
        assert "\n" in _ruby_encode64(b"k" * (MAX_KEY_LENGTH + 1) + b":").strip()

    run(database_url, body)


def test_keys_longer_than_the_new_ones_keep_working(database_url: str):
    async def body(store: Store) -> None:
        old_secret, old_publishable = "sk_test_" + "a" * 40, "pk_test_" + "b" * 40  # as made before: 48
        made = await merchants.create_merchant(store, "old", old_secret, old_publishable, vault=VAULT)
        ring = KeyRing(store)
        assert await ring.caller(old_secret) == Caller(made.merchant_id, "test", "secret")
        assert await ring.caller(old_publishable) == Caller(made.merchant_id, "test", "publishable")

    run(database_url, body)
