"""The events table: one row per change, holding the object as it was."""

from __future__ import annotations

from typing import Any

import orjson

from komoju_server.domain.event import EventFilter
from komoju_server.store import listing
from komoju_server.store.base import Store, Write


def insert(event: dict[str, Any], merchant_id: str, mode: str, created_at: int) -> list[Write]:
    return [
        listing.appended(
            "events",
            merchant_id,
            mode,
            "INSERT INTO events (id, merchant_id, mode, type, created_at, doc, subject, pos)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event["id"], merchant_id, mode, event["type"], created_at, orjson.dumps(event).decode(), subject(event)),
            label="insert event",
        )
    ]


def subject(event: dict[str, Any]) -> str | None:
    """What the event is about: its data's id (a payment, customer, subscription, webhook)."""
    data = event.get("data")
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


async def about(store: Store, scope: tuple[str, str], subject_id: str, limit: int) -> list[dict[str, Any]]:
    """The events about one object, oldest first (at most `limit`, the newest of them)."""
    rows = await store.fetch_all(
        "SELECT doc FROM (SELECT seq, doc FROM events WHERE subject = ? AND merchant_id = ? AND mode = ?"
        " ORDER BY seq DESC LIMIT ?) newest ORDER BY seq",
        (subject_id, *scope, limit),
    )
    return [orjson.loads(row[0]) for row in rows]


async def get(store: Store, scope: tuple[str, str], event_id: str) -> dict[str, Any] | None:
    row = await store.fetch_one(
        "SELECT doc FROM events WHERE id = ? AND merchant_id = ? AND mode = ?", (event_id, scope[0], scope[1])
    )
    return None if row is None else orjson.loads(row[0])


def conditions(filter_: EventFilter) -> list[listing.Condition]:
    found = [listing.any_of("type", filter_.types)] if filter_.types else []
    return found + listing.created_within(filter_.created)


async def page(
    store: Store, scope: tuple[str, str], filter_: EventFilter, number: int, per_page: int
) -> tuple[int, list[dict[str, Any]]]:
    total, docs = await page_docs(store, scope, filter_, number, per_page)
    return total, [orjson.loads(doc) for doc in docs]


async def page_docs(
    store: Store, scope: tuple[str, str], filter_: EventFilter, number: int, per_page: int
) -> tuple[int, list[str | bytes]]:
    """A page of events as stored: each the JSON it is answered with."""
    total, rows = await listing.page(store, "events", scope, conditions(filter_), number, per_page, positioned=True)
    return total, [row[0] for row in rows]


def erase(merchant_id: str, mode: str) -> list[Write]:
    """Every event of a merchant in one mode, and its list's positions (a sandbox reset)."""
    return [
        Write("DELETE FROM events WHERE merchant_id = ? AND mode = ?", (merchant_id, mode)),
        listing.forget_positions(merchant_id, mode, "events"),
    ]
