"""The secure_tokens table: the token in the clear (no card number), its status, and the card
details sealed by the vault until the token pays, fails or expires."""

from __future__ import annotations

import orjson

from komoju_server.domain import secure_token
from komoju_server.domain.secure_token import SecureToken
from komoju_server.store.base import Row, Store, Write

TABLE = "secure_tokens"  # also the vault's associated-data name for a token's card details
MOVE_LABEL = "move secure token"
USE_LABEL = "use secure token"

_COLUMNS = "id, merchant_id, mode, status, created_at, expires_at, used_at, doc"


def insert(token: SecureToken, secret: bytes) -> Write:
    return Write(
        "INSERT INTO secure_tokens (id, merchant_id, mode, status, created_at, expires_at, doc, secret)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            token.id,
            token.merchant_id,
            token.mode,
            token.status,
            token.created_at,
            token.expires_at,
            orjson.dumps(token.doc()).decode(),
            secret,
        ),
        expect=1,
        label="insert secure token",
    )


def move(token: SecureToken, target: str, now: int) -> Write:
    """Moves a token still in `token.status` (and unexpired) to `target`, only once: of two
    answers racing for one token, one commits. A failed token can never pay: its card details
    are erased with the move."""
    erase = ", secret = NULL" if target not in secure_token.PAYABLE else ""
    return Write(
        f"UPDATE secure_tokens SET status = ?{erase} WHERE id = ? AND status = ? AND expires_at > ?",
        (target, token.id, token.status, now),
        expect=1,
        label=MOVE_LABEL,
    )


def use(token_id: str, scope: tuple[str, str], now: int) -> Write:
    """Marks a payable token used and erases its card details, only if it is still payable,
    unused and unexpired: of two payments racing with one token, exactly one commits."""
    payable = tuple(sorted(secure_token.PAYABLE))
    return Write(
        "UPDATE secure_tokens SET used_at = ?, secret = NULL WHERE id = ? AND merchant_id = ? AND mode = ?"
        f" AND used_at IS NULL AND expires_at > ? AND status IN ({', '.join('?' for _ in payable)})",
        (now, token_id, scope[0], scope[1], now, *payable),
        expect=1,
        label=USE_LABEL,
    )


def forget_expired(now: int) -> Write:
    """Expired tokens, whatever their status, with whatever details they still held."""
    return Write("DELETE FROM secure_tokens WHERE expires_at <= ?", (now,))


def _token(row: Row) -> SecureToken:
    return SecureToken.from_doc(
        orjson.loads(row[7]),
        id=row[0],
        merchant_id=row[1],
        mode=row[2],
        status=row[3],
        created_at=int(row[4]),
        expires_at=int(row[5]),
        used_at=None if row[6] is None else int(row[6]),
    )


async def get(store: Store, scope: tuple[str, str], token_id: str) -> SecureToken | None:
    """A merchant's token, in one mode (what the API shows)."""
    row = await store.fetch_one(
        f"SELECT {_COLUMNS} FROM secure_tokens WHERE id = ? AND merchant_id = ? AND mode = ?",
        (token_id, scope[0], scope[1]),
    )
    return None if row is None else _token(row)


async def find(store: Store, token_id: str) -> SecureToken | None:
    """Any merchant's token by its id alone: the authentication page's only key is the id."""
    row = await store.fetch_one(f"SELECT {_COLUMNS} FROM secure_tokens WHERE id = ?", (token_id,))
    return None if row is None else _token(row)


async def sealed(store: Store, token_id: str) -> bytes | None:
    """The token's sealed card details, or None once they are erased."""
    row = await store.fetch_one("SELECT secret FROM secure_tokens WHERE id = ?", (token_id,))
    return None if row is None or row[0] is None else bytes(row[0])


async def any_sealed(store: Store) -> tuple[str, bytes] | None:
    """One token that still holds sealed details, to check the vault key against."""
    row = await store.fetch_one("SELECT id, secret FROM secure_tokens WHERE secret IS NOT NULL LIMIT 1")
    return None if row is None else (row[0], bytes(row[1]))


def erase(merchant_id: str, mode: str) -> list[Write]:
    """Every secure token of a merchant in one mode (a sandbox reset)."""
    return [Write("DELETE FROM secure_tokens WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
