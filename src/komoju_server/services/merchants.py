"""Merchants, their keys, and telling who a request comes from."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from komoju_server.domain import clock, ids
from komoju_server.domain.caller import KEY_PREFIXES, Caller, KeyKind, Mode
from komoju_server.store import Store, Write
from komoju_server.store import merchants as table


@dataclass(frozen=True)
class MerchantKeys:
    merchant_id: str
    keys: dict[tuple[KeyKind, Mode], str]

    def as_dict(self) -> dict[str, str]:
        out = {"merchant_id": self.merchant_id}
        for (kind, mode), key in self.keys.items():
            out[f"{mode}_{kind}_key"] = key
        return out


async def create_merchant(
    store: Store, name: str = "merchant", secret_key: str | None = None, publishable_key: str | None = None
) -> MerchantKeys:
    """A merchant with a test and a live key pair; the given keys become its test keys."""
    merchant_id = ids.new_id()
    now = clock.now()
    keys = {slot: ids.random_key(prefix) for slot, prefix in KEY_PREFIXES.items()}
    if secret_key:
        keys[("secret", "test")] = secret_key
    if publishable_key:
        keys[("publishable", "test")] = publishable_key
    unit: list[Write] = [table.insert_merchant(merchant_id, name, now)]
    unit += [
        table.insert_key(table.key_digest(key), merchant_id, mode, kind, now) for (kind, mode), key in keys.items()
    ]
    await store.run(unit)
    return MerchantKeys(merchant_id, keys)


async def ensure_merchant(store: Store, secret_key: str | None, publishable_key: str | None) -> MerchantKeys | None:
    """Make sure a test-mode merchant answers to these keys; returns it when it had to be created.

    With neither key, a new (empty) database gets a merchant with random keys.
    """
    if not secret_key and not publishable_key:
        if await table.count(store) == 0:
            return await create_merchant(store, "default")
        return None
    given = [(key, kind) for key, kind in ((secret_key, "secret"), (publishable_key, "publishable")) if key]
    known = [await table.find_key(store, table.key_digest(key)) for key, _ in given]
    if not any(known):
        return await create_merchant(store, "default", secret_key, publishable_key)
    fits = all(
        row is not None and row[2] == "test" and row[3] == kind for row, (_, kind) in zip(known, given, strict=True)
    )
    if fits and len({row[1] for row in known if row is not None}) == 1:
        return None
    raise SystemExit(
        "error: --secret-key and --publishable-key must be the test secret and test publishable keys of one "
        "merchant, or two keys this database has never seen"
    )


class KeyRing:
    """Resolves API keys to callers; keeps what it found so most requests touch no database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[str, Caller] = {}

    async def caller(self, key: str) -> Caller | None:
        digest = table.key_digest(key)
        found = self._known.get(digest)
        if found is not None:
            return found
        row = await table.find_key(self._store, digest)
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        found = Caller(merchant_id=row[1], mode=row[2], key_kind=row[3])
        if len(self._known) < 100_000:
            self._known[digest] = found
        return found
