"""The subscriptions table."""

from __future__ import annotations

from komoju_server.domain.clock import TimeRange
from komoju_server.domain.subscription import Subscription
from komoju_server.store import listing
from komoju_server.store.base import Store, Write

UPDATE_LABEL = "update subscription"


def insert(subscription: Subscription) -> Write:
    return Write(
        "INSERT INTO subscriptions (id, merchant_id, mode, status, created_at, version, doc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            subscription.id,
            subscription.merchant_id,
            subscription.mode,
            subscription.status,
            subscription.created_at,
            subscription.version,
            subscription.to_doc(),
        ),
        expect=1,
        label="insert subscription",
    )


def update(subscription: Subscription, seen_version: int) -> Write:
    """Writes the subscription only if nobody changed it since `seen_version` was read."""
    subscription.version = seen_version + 1
    return Write(
        "UPDATE subscriptions SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?",
        (subscription.status, subscription.version, subscription.to_doc(), subscription.id, seen_version),
        expect=1,
        label=UPDATE_LABEL,
    )


async def get(store: Store, scope: tuple[str, str], subscription_id: str) -> Subscription | None:
    row = await store.fetch_one(
        "SELECT version, doc FROM subscriptions WHERE id = ? AND merchant_id = ? AND mode = ?",
        (subscription_id, *scope),
    )
    return None if row is None else Subscription.from_doc(row[1], row[0])


async def page(
    store: Store, scope: tuple[str, str], created: TimeRange, number: int, per_page: int
) -> tuple[int, list[Subscription]]:
    total, rows = await listing.page(
        store, "subscriptions", scope, listing.created_within(created), number, per_page, "version, doc"
    )
    return total, [Subscription.from_doc(doc, version) for version, doc in rows]


def erase(merchant_id: str, mode: str) -> list[Write]:
    return [Write("DELETE FROM subscriptions WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
