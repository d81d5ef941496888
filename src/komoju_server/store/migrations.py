"""Schema migrations, numbered and applied in order, each in its own transaction.

A migration is a list of statements in a small common dialect: `{serial}` becomes the
backend's auto-incrementing primary key, `{bytes}` its binary type. Never edit a migration
that has shipped; add the next one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "merchants, keys, payments and events",
        [
            """CREATE TABLE merchants (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                clock_offset BIGINT NOT NULL DEFAULT 0,
                live_processor TEXT
            )""",
            """CREATE TABLE api_keys (
                key_hash TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL REFERENCES merchants (id),
                mode TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE payments (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                status TEXT NOT NULL,
                currency TEXT NOT NULL,
                external_order_num TEXT,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                pos BIGINT NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX payments_by_position ON payments (merchant_id, mode, pos)",
            "CREATE INDEX payments_by_status ON payments (merchant_id, mode, status, pos)",
            "CREATE INDEX payments_by_order ON payments (merchant_id, mode, external_order_num)",
            "CREATE INDEX payments_by_time ON payments (merchant_id, mode, created_at)",
            """CREATE TABLE events (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                type TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                pos BIGINT NOT NULL,
                doc TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX events_by_position ON events (merchant_id, mode, pos)",
            # How many rows each (merchant, mode) has in each append-only list: the newest row's
            # position. Any page of an unfiltered list is then one index range, however deep.
            """CREATE TABLE list_positions (
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                resource TEXT NOT NULL,
                n BIGINT NOT NULL,
                PRIMARY KEY (merchant_id, mode, resource)
            )""",
        ],
    ),
    (
        2,
        "tokens and customers, their payment details sealed by the vault",
        [
            # `secret` holds the vault-sealed details; it is erased (NULL) when the token is used
            # or has expired. `doc` is the public token, as the API answers it.
            """CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                doc TEXT NOT NULL,
                secret {bytes}
            )""",
            # Only tokens still holding details, for erasing them once they expire.
            "CREATE INDEX tokens_sealed_by_expiry ON tokens (expires_at) WHERE secret IS NOT NULL",
            # A deleted customer's row is removed, and its sealed details with it.
            """CREATE TABLE customers (
                seq {serial},
                id TEXT NOT NULL UNIQUE,
                merchant_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                version INTEGER NOT NULL,
                doc TEXT NOT NULL,
                secret {bytes} NOT NULL
            )""",
            "CREATE INDEX customers_by_scope ON customers (merchant_id, mode, seq)",
            "CREATE INDEX customers_by_time ON customers (merchant_id, mode, created_at)",
        ],
    ),
]

LATEST = max(version for version, _name, _statements in MIGRATIONS)

CREATE_LEDGER = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"


def render(statement: str, kind: str) -> str:
    if kind == "sqlite":
        return statement.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", bytes="BLOB")
    return statement.format(serial="BIGSERIAL PRIMARY KEY", bytes="BYTEA")


def pending(applied: set[int], upto: int | None = None) -> list[tuple[int, str, list[str]]]:
    return [m for m in MIGRATIONS if m[0] not in applied and (upto is None or m[0] <= upto)]
