"""The payments table."""

from __future__ import annotations

from komoju_server.domain.payment import Payment, PaymentFilter
from komoju_server.store import listing
from komoju_server.store.base import Store, Write


def insert(payment: Payment) -> list[Write]:
    return [
        listing.appended(
            "payments",
            payment.merchant_id,
            payment.mode,
            "INSERT INTO payments (id, merchant_id, mode, status, currency, external_order_num, created_at, version,"
            " doc, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                payment.id,
                payment.merchant_id,
                payment.mode,
                payment.status,
                payment.currency,
                payment.external_order_num,
                payment.created_at,
                payment.version,
                payment.to_doc(),
            ),
            label="insert payment",
        )
    ]


def update(payment: Payment, seen_version: int) -> Write:
    """Writes the payment only if nobody changed it since `seen_version` was read."""
    payment.version = seen_version + 1
    return Write(
        "UPDATE payments SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?",
        (payment.status, payment.version, payment.to_doc(), payment.id, seen_version),
        expect=1,
        label="update payment",
    )


async def get(store: Store, scope: tuple[str, str], payment_id: str) -> Payment | None:
    row = await get_row(store, scope, payment_id)
    return None if row is None else Payment.from_doc(row[1], row[0])


async def get_row(store: Store, scope: tuple[str, str], payment_id: str) -> tuple[int, str | bytes] | None:
    """A payment's row as stored: its version and its document."""
    row = await store.fetch_one(
        "SELECT version, doc FROM payments WHERE id = ? AND merchant_id = ? AND mode = ?",
        (payment_id, scope[0], scope[1]),
    )
    return None if row is None else (row[0], row[1])


async def find(store: Store, payment_id: str, mode: str | None = None) -> Payment | None:
    """A payment by its id alone, whoever's it is (a customer's page has no API key: the
    payment's unguessable id is its key); `mode` keeps it to test or live payments."""
    if mode is None:
        row = await store.fetch_one("SELECT version, doc FROM payments WHERE id = ?", (payment_id,))
    else:
        row = await store.fetch_one("SELECT version, doc FROM payments WHERE id = ? AND mode = ?", (payment_id, mode))
    return None if row is None else Payment.from_doc(row[1], row[0])


def conditions(filter_: PaymentFilter) -> list[listing.Condition]:
    found: list[listing.Condition] = []
    if filter_.statuses:
        found.append(listing.any_of("status", filter_.statuses))
    for clause, value in (
        ("currency = ?", filter_.currency),
        ("external_order_num = ?", filter_.external_order_num),
    ):
        if value is not None:
            found.append((clause, (value,)))
    return found + listing.created_within(filter_.created)


async def page(
    store: Store, scope: tuple[str, str], filter_: PaymentFilter, number: int, per_page: int
) -> tuple[int, list[Payment]]:
    total, rows = await page_rows(store, scope, filter_, number, per_page)
    return total, [Payment.from_doc(doc, version) for _, version, doc in rows]


async def page_rows(
    store: Store, scope: tuple[str, str], filter_: PaymentFilter, number: int, per_page: int
) -> tuple[int, list[tuple[str, int, str | bytes]]]:
    """A page of payments' rows as stored: each its id, version and document."""
    total, rows = await listing.page(
        store, "payments", scope, conditions(filter_), number, per_page, "id, version, doc", positioned=True
    )
    return total, [(row[0], row[1], row[2]) for row in rows]


def erase(merchant_id: str, mode: str) -> list[Write]:
    """Every payment of a merchant in one mode, and its list's positions (a sandbox reset)."""
    return [
        Write("DELETE FROM payments WHERE merchant_id = ? AND mode = ?", (merchant_id, mode)),
        listing.forget_positions(merchant_id, mode, "payments"),
    ]
