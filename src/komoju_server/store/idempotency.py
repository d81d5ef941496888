"""The idempotency_keys table: one row per (merchant, mode, key), claimed before the work and
answered after it. `owner` is a random token per claim, so every change is conditional on
still holding the claim."""

from __future__ import annotations

from komoju_server.domain.idempotency import Claim
from komoju_server.store.base import Store, Write

_KEY = "merchant_id = ? AND mode = ? AND idem_key = ?"


def claim(
    scope: tuple[str, str], key: str, owner: str, fingerprint: str, created_at: int, lease_until: int, expires_at: int
) -> Write:
    """Takes a key nobody holds; touches no row (and so conflicts) when the key exists."""
    return Write(
        "INSERT INTO idempotency_keys (merchant_id, mode, idem_key, owner, fingerprint, created_at, lease_until,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (merchant_id, mode, idem_key) DO NOTHING",
        (*scope, key, owner, fingerprint, created_at, lease_until, expires_at),
        expect=1,
        label="claim idempotency key",
    )


def take_over(
    scope: tuple[str, str],
    key: str,
    previous_owner: str,
    owner: str,
    fingerprint: str,
    created_at: int,
    lease_until: int,
    expires_at: int,
) -> Write:
    """Claims an expired key, or one whose holder died, if nobody else took it first."""
    return Write(
        "UPDATE idempotency_keys SET owner = ?, fingerprint = ?, created_at = ?, lease_until = ?, expires_at = ?,"
        f" status = NULL, body = NULL WHERE {_KEY} AND owner = ?",
        (owner, fingerprint, created_at, lease_until, expires_at, *scope, key, previous_owner),
        expect=1,
        label="take over idempotency key",
    )


ANSWER_LABEL = "answer idempotency key"


def answer_with_change(
    scope: tuple[str, str],
    key: str,
    owner: str,
    fingerprint: str,
    created_at: int,
    expires_at: int,
    status: int,
    body: bytes,
) -> Write:
    """The answer of a claimed request, written in the unit of work of the change it answers,
    so the change never commits without it. It must touch the claim (`expect=1`): when another
    request took the key over meanwhile, the change rolls back rather than happen twice. An
    upsert, because the unit may itself have erased the claim (a sandbox reset erases the keys)."""
    return Write(
        "INSERT INTO idempotency_keys (merchant_id, mode, idem_key, owner, fingerprint, created_at, lease_until,"
        " expires_at, status, body) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)"
        " ON CONFLICT (merchant_id, mode, idem_key) DO UPDATE SET status = excluded.status, body = excluded.body,"
        " lease_until = NULL WHERE idempotency_keys.owner = excluded.owner",
        (*scope, key, owner, fingerprint, created_at, expires_at, status, body),
        expect=1,
        label=ANSWER_LABEL,
    )


def answer(scope: tuple[str, str], key: str, owner: str, status: int, body: bytes) -> Write:
    """The answer of a request whose work committed without it (or did nothing). Touches
    nothing if the claim was taken over or erased meanwhile (that answer is lost), or already
    holds the answer its change committed with."""
    return Write(
        "UPDATE idempotency_keys SET status = ?, body = ?, lease_until = NULL"
        f" WHERE {_KEY} AND owner = ? AND status IS NULL",
        (status, body, *scope, key, owner),
    )


def release(scope: tuple[str, str], key: str, owner: str) -> Write:
    """Frees a claim for a retry, unless its change already committed with its answer."""
    return Write(f"DELETE FROM idempotency_keys WHERE {_KEY} AND owner = ? AND status IS NULL", (*scope, key, owner))


async def answer_of(store: Store, scope: tuple[str, str], key: str, owner: str) -> tuple[int, bytes] | None:
    """The stored answer of the claim `owner` holds, if it has one."""
    row = await store.fetch_one(
        f"SELECT status, body FROM idempotency_keys WHERE {_KEY} AND owner = ? AND status IS NOT NULL",
        (*scope, key, owner),
    )
    return None if row is None else (int(row[0]), bytes(row[1]))


async def get(store: Store, scope: tuple[str, str], key: str) -> Claim | None:
    row = await store.fetch_one(
        f"SELECT owner, fingerprint, created_at, lease_until, status, body FROM idempotency_keys WHERE {_KEY}",
        (*scope, key),
    )
    if row is None:
        return None
    body = row[5]
    return Claim(row[0], row[1], int(row[2]), row[3], row[4], None if body is None else bytes(body))


def purge(before: int) -> Write:
    """Forgets keys whose retention ended before `before` (real time)."""
    return Write("DELETE FROM idempotency_keys WHERE expires_at < ?", (before,))


def erase(merchant_id: str, mode: str) -> list[Write]:
    return [Write("DELETE FROM idempotency_keys WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
