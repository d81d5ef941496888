"""Dashboard sessions: one row per signed-in browser, found by the digest of its cookie's value.

A session is valid while its row exists, has not expired, and the API key it signed in with
still exists (the join on `api_keys`): signing out deletes the row, and rotating the keys
ends every session opened with the old ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from komoju_server.store.base import Store, Write


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionRow:
    merchant_id: str
    mode: str
    kind: str  # the key's kind, as api_keys has it now
    expires_at: int


def insert(id_hash: str, key_hash: str, merchant_id: str, mode: str, now: int, expires_at: int) -> Write:
    return Write(
        "INSERT INTO dashboard_sessions (id_hash, key_hash, merchant_id, mode, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (id_hash, key_hash, merchant_id, mode, now, expires_at),
        expect=1,
        label="insert dashboard session",
    )


async def find(store: Store, id_hash: str, now: int) -> SessionRow | None:
    row = await store.fetch_one(
        "SELECT s.merchant_id, s.mode, k.kind, s.expires_at FROM dashboard_sessions s"
        " JOIN api_keys k ON k.key_hash = s.key_hash AND k.merchant_id = s.merchant_id AND k.mode = s.mode"
        " WHERE s.id_hash = ? AND s.expires_at > ?",
        (id_hash, now),
    )
    return None if row is None else SessionRow(str(row[0]), str(row[1]), str(row[2]), int(row[3]))


def delete(id_hash: str) -> Write:
    return Write("DELETE FROM dashboard_sessions WHERE id_hash = ?", (id_hash,))


def purge(now: int) -> Write:
    """Expired sessions (housekeeping)."""
    return Write("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (now,))
