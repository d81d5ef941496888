"""The customers table: the customer as the API shows it, and its details sealed by the vault.

Deleting a customer removes its row, and the sealed details with it.
"""

from __future__ import annotations

from komoju_server.domain.clock import TimeRange
from komoju_server.domain.customer import Customer
from komoju_server.store import listing
from komoju_server.store.base import Store, Write

TABLE = "customers"  # also the vault's associated-data name for a customer's details
UPDATE_LABEL = "update customer"
DELETE_LABEL = "delete customer"


def insert(customer: Customer, secret: bytes) -> Write:
    return Write(
        "INSERT INTO customers (id, merchant_id, mode, created_at, version, doc, secret) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            customer.id,
            customer.merchant_id,
            customer.mode,
            customer.created_at,
            customer.version,
            customer.to_doc(),
            secret,
        ),
        expect=1,
        label="insert customer",
    )


def update(customer: Customer, secret: bytes | None, seen_version: int) -> Write:
    """Writes the customer (and new sealed details, when given) only if nobody changed it
    since `seen_version` was read."""
    customer.version = seen_version + 1
    if secret is None:
        return Write(
            "UPDATE customers SET version = ?, doc = ? WHERE id = ? AND version = ?",
            (customer.version, customer.to_doc(), customer.id, seen_version),
            expect=1,
            label=UPDATE_LABEL,
        )
    return Write(
        "UPDATE customers SET version = ?, doc = ?, secret = ? WHERE id = ? AND version = ?",
        (customer.version, customer.to_doc(), secret, customer.id, seen_version),
        expect=1,
        label=UPDATE_LABEL,
    )


def delete(customer: Customer) -> Write:
    return Write(
        "DELETE FROM customers WHERE id = ? AND version = ?",
        (customer.id, customer.version),
        expect=1,
        label=DELETE_LABEL,
    )


async def get(store: Store, scope: tuple[str, str], customer_id: str) -> tuple[Customer, bytes] | None:
    """The customer and its sealed details."""
    row = await store.fetch_one(
        "SELECT version, doc, secret FROM customers WHERE id = ? AND merchant_id = ? AND mode = ?",
        (customer_id, scope[0], scope[1]),
    )
    return None if row is None else (Customer.from_doc(row[1], row[0]), bytes(row[2]))


async def page(
    store: Store, scope: tuple[str, str], created: TimeRange, number: int, per_page: int
) -> tuple[int, list[Customer]]:
    total, rows = await listing.page(
        store, TABLE, scope, listing.created_within(created), number, per_page, "version, doc"
    )
    return total, [Customer.from_doc(doc, version) for version, doc in rows]


async def any_sealed(store: Store) -> tuple[str, bytes] | None:
    """One customer's sealed details, to check the vault key against."""
    row = await store.fetch_one("SELECT id, secret FROM customers LIMIT 1")
    return None if row is None else (row[0], bytes(row[1]))


def erase(merchant_id: str, mode: str) -> list[Write]:
    """Every customer of a merchant in one mode, and their sealed details (a sandbox reset)."""
    return [Write("DELETE FROM customers WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
