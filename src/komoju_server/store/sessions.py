"""The sessions table: a session as stored (`domain/session.py`), found by its id alone for the
hosted page and within its merchant and mode for the API."""

from __future__ import annotations

from komoju_server.domain.clock import TimeRange
from komoju_server.domain.session import Session
from komoju_server.store import listing
from komoju_server.store.base import Store, Write

TABLE = "sessions"

UPDATE_LABEL = "update session"


def insert(session: Session) -> Write:
    return Write(
        "INSERT INTO sessions (id, merchant_id, mode, status, created_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            session.id,
            session.merchant_id,
            session.mode,
            session.status,
            session.created_at,
            session.version,
            session.to_doc(),
        ),
        expect=1,
        label="insert session",
    )


def update(session: Session, seen_version: int) -> Write:
    """Writes the session only if nobody changed it since `seen_version` was read: of two
    requests paying one session, only one can complete it."""
    session.version = seen_version + 1
    return Write(
        "UPDATE sessions SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?",
        (session.status, session.version, session.to_doc(), session.id, seen_version),
        expect=1,
        label=UPDATE_LABEL,
    )


async def get(store: Store, scope: tuple[str, str], session_id: str) -> Session | None:
    row = await store.fetch_one(
        "SELECT version, doc FROM sessions WHERE id = ? AND merchant_id = ? AND mode = ?", (session_id, *scope)
    )
    return None if row is None else Session.from_doc(row[1], row[0])


async def find(store: Store, session_id: str) -> Session | None:
    """A session by its id alone: the hosted page knows nothing else (the id is its key)."""
    row = await store.fetch_one("SELECT version, doc FROM sessions WHERE id = ?", (session_id,))
    return None if row is None else Session.from_doc(row[1], row[0])


async def page(
    store: Store, scope: tuple[str, str], created: TimeRange, number: int, per_page: int
) -> tuple[int, list[Session]]:
    """A merchant's sessions, newest first (the dashboard's list; KOMOJU's API has none)."""
    total, rows = await listing.page(
        store, TABLE, scope, listing.created_within(created), number, per_page, "version, doc"
    )
    return total, [Session.from_doc(doc, version) for version, doc in rows]


def erase(merchant_id: str, mode: str) -> list[Write]:
    return [Write("DELETE FROM sessions WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
