"""Persistence behind one interface (`base.Store`), with SQLite and PostgreSQL backends."""

from __future__ import annotations

from komoju_server.store.base import Conflict, Row, Store, StoreUnavailable, Write


def open_store(url: str) -> Store:
    """`sqlite:///path.db`, a bare path, or `postgresql://...`."""
    if url.startswith(("postgresql://", "postgres://")):
        from komoju_server.store.postgres import PostgresStore

        return PostgresStore(url)
    from komoju_server.store.sqlite import SqliteStore

    return SqliteStore(sqlite_path(url))


def sqlite_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :]
    return url


__all__ = ["Conflict", "Row", "Store", "StoreUnavailable", "Write", "open_store", "sqlite_path"]
