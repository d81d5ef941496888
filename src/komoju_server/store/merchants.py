"""Merchants and their API keys (stored as SHA-256 digests, never in the clear; test keys are
also kept sealed by the vault, in `sealed`, so that they can be shown again)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from komoju_server.store.base import Row, Store, Write, condition

KEYS_TABLE = "api_keys"  # the vault binds a sealed key to this table and its key_hash


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def insert_merchant(merchant_id: str, name: str, created_at: int) -> Write:
    return Write(
        "INSERT INTO merchants (id, name, created_at, number)"
        " SELECT ?, ?, CAST(? AS BIGINT), COALESCE(MAX(number), 0) + 1 FROM merchants",
        (merchant_id, name, created_at),
        expect=1,
    )


def insert_key(
    digest: str, merchant_id: str, mode: str, kind: str, created_at: int, sealed: bytes | None = None
) -> Write:
    return Write(
        "INSERT INTO api_keys (key_hash, merchant_id, mode, kind, created_at, sealed) VALUES (?, ?, ?, ?, ?, ?)",
        (digest, merchant_id, mode, kind, created_at, sealed),
        expect=1,
        label="api key",
    )


def delete_keys(merchant_id: str, mode: str) -> Write:
    """Every key of a merchant in one mode (a rotation, with the new keys in the same unit)."""
    return Write("DELETE FROM api_keys WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))


@dataclass(frozen=True, slots=True)
class MerchantRow:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class KeyRow:
    merchant_id: str
    mode: str
    kind: str
    key_hash: str
    sealed: bytes | None


_MERCHANT_ORDER = "ORDER BY number, created_at, id"


async def merchants(store: Store, limit: int | None = None) -> list[MerchantRow]:
    """Merchants in the order they were made."""
    sql = f"SELECT id, name, created_at FROM merchants {_MERCHANT_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [MerchantRow(row[0], row[1], int(row[2])) for row in await store.fetch_all(sql)]


async def merchant(store: Store, merchant_id: str) -> MerchantRow | None:
    row = await store.fetch_one("SELECT id, name, created_at FROM merchants WHERE id = ?", (merchant_id,))
    return None if row is None else MerchantRow(row[0], row[1], int(row[2]))


async def keys(store: Store, mode: str) -> list[KeyRow]:
    """Every merchant's keys of one mode, oldest first."""
    rows = await store.fetch_all(
        "SELECT merchant_id, mode, kind, key_hash, sealed FROM api_keys WHERE mode = ? ORDER BY created_at, key_hash",
        (mode,),
    )
    return [KeyRow(row[0], row[1], row[2], row[3], None if row[4] is None else bytes(row[4])) for row in rows]


async def find_key(store: Store, digest: str) -> Row | None:
    """(key_hash, merchant_id, mode, kind) for a key digest."""
    return await store.fetch_one("SELECT key_hash, merchant_id, mode, kind FROM api_keys WHERE key_hash = ?", (digest,))


async def name(store: Store, merchant_id: str) -> str | None:
    """The merchant's name, as its customers' pages show it."""
    row = await store.fetch_one("SELECT name FROM merchants WHERE id = ?", (merchant_id,))
    return None if row is None else str(row[0])


async def count(store: Store) -> int:
    row = await store.fetch_one("SELECT COUNT(*) FROM merchants")
    return int(row[0]) if row else 0


async def clock_offset(store: Store, merchant_id: str) -> int:
    row = await store.fetch_one("SELECT clock_offset FROM merchants WHERE id = ?", (merchant_id,))
    return int(row[0]) if row else 0


CLOCK_MOVED = "clock moved"  # the label of a `clock_unmoved` that did not hold


def clock_unmoved(merchant_id: str, offset: int) -> Write:
    """The condition of a unit written with the clock read at `offset`: that it is still there."""
    return condition("SELECT 1 FROM merchants WHERE id = ? AND clock_offset = ?", (merchant_id, offset), CLOCK_MOVED)


def reset_clock(merchant_id: str) -> Write:
    """The sandbox clock back to real time (a sandbox reset)."""
    return Write("UPDATE merchants SET clock_offset = 0 WHERE id = ?", (merchant_id,), expect=1, label="reset clock")


def set_sandbox_maintenance(merchant_id: str, enabled: bool) -> Write:
    return Write(
        "UPDATE merchants SET sandbox_maintenance = ? WHERE id = ?", (1 if enabled else 0, merchant_id), expect=1
    )


async def sandbox_maintenance(store: Store, merchant_id: str) -> bool:
    row = await store.fetch_one("SELECT sandbox_maintenance FROM merchants WHERE id = ?", (merchant_id,))
    return bool(row and row[0])
