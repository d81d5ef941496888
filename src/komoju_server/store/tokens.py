"""The tokens table: the public token, and its details sealed by the vault until used."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from komoju_server.domain.token import Token
from komoju_server.store.base import Store, Write

TABLE = "tokens"  # also the vault's associated-data name for a token's details
USE_LABEL = "use token"


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    expires_at: int
    used_at: int | None
    secret: bytes | None  # None once used


def insert(token: Token, secret: bytes) -> Write:
    return Write(
        "INSERT INTO tokens (id, merchant_id, mode, created_at, expires_at, doc, secret) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            token.id,
            token.merchant_id,
            token.mode,
            token.created_at,
            token.expires_at,
            orjson.dumps(token.to_api()).decode(),
            secret,
        ),
        expect=1,
        label="insert token",
    )


def use(token_id: str, scope: tuple[str, str], now: int) -> Write:
    """Marks the token used and erases its details, only if it is still unused and unexpired:
    of two requests racing with one token, exactly one unit of work commits."""
    return Write(
        "UPDATE tokens SET used_at = ?, secret = NULL WHERE id = ? AND merchant_id = ? AND mode = ?"
        " AND used_at IS NULL AND expires_at > ?",
        (now, token_id, scope[0], scope[1], now),
        expect=1,
        label=USE_LABEL,
    )


def forget_expired(now: int) -> Write:
    """Expired tokens, used or not: an unknown token is refused exactly as an expired one is."""
    return Write("DELETE FROM tokens WHERE expires_at <= ?", (now,))


async def find(store: Store, scope: tuple[str, str], token_id: str) -> TokenRow | None:
    row = await store.fetch_one(
        "SELECT id, expires_at, used_at, secret FROM tokens WHERE id = ? AND merchant_id = ? AND mode = ?",
        (token_id, scope[0], scope[1]),
    )
    if row is None:
        return None
    return TokenRow(row[0], int(row[1]), None if row[2] is None else int(row[2]), row[3])


async def any_sealed(store: Store) -> tuple[str, bytes] | None:
    """One token that still holds sealed details, to check the vault key against."""
    row = await store.fetch_one("SELECT id, secret FROM tokens WHERE secret IS NOT NULL LIMIT 1")
    return None if row is None else (row[0], bytes(row[1]))


def erase(merchant_id: str, mode: str) -> list[Write]:
    """Every token of a merchant in one mode (a sandbox reset)."""
    return [Write("DELETE FROM tokens WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]


@dataclass(frozen=True, slots=True)
class Listed:
    """A token as the dashboard lists it: its public answer, when it expires, whether it was used."""

    token: dict[str, object]
    expires_at: int
    used_at: int | None


async def page(store: Store, scope: tuple[str, str], number: int, per_page: int) -> tuple[int, list[Listed]]:
    """A merchant's tokens, newest first (expired ones are deleted by housekeeping)."""
    count = await store.fetch_one("SELECT COUNT(*) FROM tokens WHERE merchant_id = ? AND mode = ?", scope)
    total = int(count[0]) if count else 0
    rows = await store.fetch_all(
        "SELECT doc, expires_at, used_at FROM tokens WHERE merchant_id = ? AND mode = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (*scope, per_page, (number - 1) * per_page),
    )
    return total, [Listed(orjson.loads(r[0]), int(r[1]), None if r[2] is None else int(r[2])) for r in rows]
