"""Merchants, their keys, and telling who a request comes from.

Keys are stored as SHA-256 digests. A test key is also kept sealed by the vault, so that
`merchants list` and the start banner can show it again; a live key is shown once, when made.
Rotating a merchant's keys replaces them in one unit of work: the old ones are gone from the
database at once, and every server process stops taking them within `KEY_CACHE_SECONDS`
(each keeps the keys it saw for that long before asking the database again).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from komoju_server.domain import clock, ids
from komoju_server.domain.caller import KEY_PREFIXES, Caller, KeyKind, Mode
from komoju_server.store import Store, Write
from komoju_server.store import merchants as table
from komoju_server.store.vault import LazyVault, Vault, VaultError

KEY_CACHE_SECONDS = 1.0
# A key the database does not know is remembered as unknown for this long, so a client that
# repeats a wrong key costs one look-up per this many seconds, not one per request. Keys made or
# rotated by this process clear it at once; by another process (the CLI, another server
# process) they work here within this time.
UNKNOWN_KEY_CACHE_SECONDS = 1.0
MAX_CACHED_KEYS = 100_000
MODES: tuple[Mode, ...] = ("test", "live")


@dataclass(frozen=True)
class MerchantKeys:
    merchant_id: str
    keys: dict[tuple[KeyKind, Mode], str]

    def as_dict(self) -> dict[str, str]:
        out = {"merchant_id": self.merchant_id}
        for (kind, mode), key in self.keys.items():
            out[f"{mode}_{kind}_key"] = key
        return out


SealingVault = Vault | LazyVault


def _key_writes(
    merchant_id: str, keys: dict[tuple[KeyKind, Mode], str], now: int, vault: SealingVault | None
) -> list[Write]:
    unit: list[Write] = []
    for (kind, mode), key in keys.items():
        digest = table.key_digest(key)
        sealed = None
        if mode == "test" and vault is not None:
            sealed = vault.seal({"key": key}, table.KEYS_TABLE, digest)
        unit.append(table.insert_key(digest, merchant_id, mode, kind, now, sealed))
    return unit


async def create_merchant(
    store: Store,
    name: str = "merchant",
    secret_key: str | None = None,
    publishable_key: str | None = None,
    *,
    vault: SealingVault | None = None,
    keyring: KeyRing | None = None,
) -> MerchantKeys:
    """A merchant with a test and a live key pair; the given keys become its test keys.
    With a vault, its test keys are kept sealed, to be shown again. `keyring`: this process's,
    which stops taking the new keys for unknown at once."""
    merchant_id = ids.new_id()
    now = clock.now()
    keys = {slot: ids.random_key(prefix) for slot, prefix in KEY_PREFIXES.items()}
    if secret_key:
        keys[("secret", "test")] = secret_key
    if publishable_key:
        keys[("publishable", "test")] = publishable_key
    await store.run([table.insert_merchant(merchant_id, name, now), *_key_writes(merchant_id, keys, now, vault)])
    if keyring is not None:
        keyring.keys_added()
    return MerchantKeys(merchant_id, keys)


async def ensure_merchant(
    store: Store, secret_key: str | None, publishable_key: str | None, *, vault: SealingVault | None = None
) -> MerchantKeys | None:
    """Make sure a test-mode merchant answers to these keys; returns it when it had to be created.

    With neither key, a new (empty) database gets a merchant with random keys.
    """
    if not secret_key and not publishable_key:
        if await table.count(store) == 0:
            return await create_merchant(store, "default", vault=vault)
        return None
    given = [(key, kind) for key, kind in ((secret_key, "secret"), (publishable_key, "publishable")) if key]
    known = [await table.find_key(store, table.key_digest(key)) for key, _ in given]
    if not any(known):
        return await create_merchant(store, "default", secret_key, publishable_key, vault=vault)
    fits = all(
        row is not None and row[2] == "test" and row[3] == kind for row, (_, kind) in zip(known, given, strict=True)
    )
    if fits and len({row[1] for row in known if row is not None}) == 1:
        return None
    raise SystemExit(
        "error: --secret-key and --publishable-key must be the test secret and test publishable keys of one "
        "merchant, or two keys this database has never seen"
    )


@dataclass(frozen=True)
class MerchantListed:
    """A merchant as `merchants list` and the start banner show it."""

    merchant_id: str
    name: str
    created_at: int
    test_secret_key: str | None
    test_publishable_key: str | None
    note: str | None  # why the test keys are not shown, when they are not

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "id": self.merchant_id,
            "name": self.name,
            "created_at": clock.iso(self.created_at),
            "test_secret_key": self.test_secret_key,
            "test_publishable_key": self.test_publishable_key,
            "note": self.note,
        }


NOT_KEPT = "not kept (made before keys were kept); get new ones with: komoju-server merchants rotate-keys {id}"
NOT_OPENED = "kept, but sealed with another vault key than this one"


async def list_merchants(store: Store, vault: SealingVault, limit: int | None = None) -> list[MerchantListed]:
    """Merchants in the order they were made, with their test keys opened from the vault."""
    rows = await table.merchants(store, limit)
    sealed: dict[tuple[str, str], tuple[str, bytes | None]] = {}
    for key in await table.keys(store, "test"):
        sealed[(key.merchant_id, key.kind)] = (key.key_hash, key.sealed)
    listed = []
    for row in rows:
        opened: dict[str, str | None] = {}
        note = None
        for kind in ("secret", "publishable"):
            digest, blob = sealed.get((row.id, kind), ("", None))
            opened[kind] = None
            if blob is None:
                note = NOT_KEPT.format(id=row.id)
                continue
            try:
                key = str(vault.open(blob, table.KEYS_TABLE, digest)["key"])
            except VaultError:
                note = NOT_OPENED
                continue
            if hmac.compare_digest(table.key_digest(key), digest):
                opened[kind] = key
        listed.append(MerchantListed(row.id, row.name, row.created_at, opened["secret"], opened["publishable"], note))
    return listed


class UnknownMerchant(LookupError):
    pass


async def rotate_keys(
    store: Store, merchant_id: str, modes: Iterable[Mode], vault: SealingVault, keyring: KeyRing | None = None
) -> MerchantKeys:
    """New random keys for the merchant in these modes; the old ones are deleted in the same
    unit of work. `keyring`: this process's, which forgets the merchant's keys at once."""
    if await table.merchant(store, merchant_id) is None:
        raise UnknownMerchant(merchant_id)
    chosen = set(modes)
    keys = {slot: ids.random_key(prefix) for slot, prefix in KEY_PREFIXES.items() if slot[1] in chosen}
    unit = [table.delete_keys(merchant_id, mode) for mode in MODES if mode in chosen]
    await store.run([*unit, *_key_writes(merchant_id, keys, clock.now(), vault)])
    if keyring is not None:
        keyring.forget(merchant_id)
        keyring.keys_added()
    return MerchantKeys(merchant_id, keys)


class KeyRing:
    """Resolves API keys to callers; keeps what it found so most requests touch no database.

    A key it knows is taken for up to `ttl` seconds, then looked up again: a key deleted by
    another process (a rotation by the CLI, or by another server process) stops working
    within that time; `forget` drops a merchant's keys at once (a rotation in this process).

    A key the database does not know is remembered as unknown for `unknown_ttl` seconds (a
    negative cache): repeating a wrong key costs no look-up meanwhile. `keys_added` clears it
    (keys made or rotated in this process); keys made elsewhere work here within that time.
    """

    def __init__(
        self,
        store: Store,
        ttl: float = KEY_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        unknown_ttl: float = UNKNOWN_KEY_CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._unknown_ttl = unknown_ttl
        self._monotonic = monotonic
        self._known: dict[str, tuple[Caller, float]] = {}
        self._unknown: dict[str, float] = {}  # digest -> until when it is taken as unknown

    async def caller(self, key: str) -> Caller | None:
        digest = table.key_digest(key)
        now = self._monotonic()
        known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        unknown_until = self._unknown.get(digest)
        if unknown_until is not None and unknown_until > now:
            return None
        row = await table.find_key(self._store, digest)
        if row is None or not hmac.compare_digest(row[0], digest):
            self._known.pop(digest, None)
            self._remember_unknown(digest, now)
            return None
        self._unknown.pop(digest, None)
        found = Caller(merchant_id=row[1], mode=row[2], key_kind=row[3])
        if known is not None or len(self._known) < MAX_CACHED_KEYS:
            self._known[digest] = (found, now + self._ttl)
        return found

    def keys_added(self) -> None:
        """Keys were made in this process: none of the unknown ones is taken as unknown any more."""
        self._unknown.clear()

    def _remember_unknown(self, digest: str, now: float) -> None:
        if len(self._unknown) >= MAX_CACHED_KEYS:  # many wrong keys: drop the stale, else all
            self._unknown = {d: until for d, until in self._unknown.items() if until > now}
            if len(self._unknown) >= MAX_CACHED_KEYS:
                self._unknown.clear()
        self._unknown[digest] = now + self._unknown_ttl

    def forget(self, merchant_id: str) -> None:
        for digest, (caller, _) in list(self._known.items()):
            if caller.merchant_id == merchant_id:
                del self._known[digest]
