"""Merchants and their API keys (stored as SHA-256 digests, never in the clear)."""

from __future__ import annotations

import hashlib

from komoju_server.store.base import Row, Store, Write


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def insert_merchant(merchant_id: str, name: str, created_at: int) -> Write:
    return Write(
        "INSERT INTO merchants (id, name, created_at) VALUES (?, ?, ?)", (merchant_id, name, created_at), expect=1
    )


def insert_key(digest: str, merchant_id: str, mode: str, kind: str, created_at: int) -> Write:
    return Write(
        "INSERT INTO api_keys (key_hash, merchant_id, mode, kind, created_at) VALUES (?, ?, ?, ?, ?)",
        (digest, merchant_id, mode, kind, created_at),
        expect=1,
        label="api key",
    )


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
