"""The processor_intents and processor_references tables.

An intent is one call a processor is asked to make, under the idempotency key it is given:
claimed (`pending`) in a unit of work before the call, settled (`succeeded` or `failed`) in
another after it. Settling is conditional on the intent still being pending, so of the request
that made the call and a recovery that asked again, exactly one records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from komoju_server.domain.payment import Payment
from komoju_server.store.base import Store, Write

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
SETTLE_LABEL = "settle processor intent"
CLAIM_LABEL = "claim processor intent"


@dataclass(frozen=True)
class Intent:
    key: str
    merchant_id: str
    mode: str
    payment_id: str
    kind: str  # charge, capture, refund, cancel, top_up
    amount: int
    status: str
    request: dict[str, Any]
    sealed: bytes | None
    result: dict[str, Any] | None
    lease_until: int

    @property
    def scope(self) -> tuple[str, str]:
        return (self.merchant_id, self.mode)


_COLUMNS = "idem_key, merchant_id, mode, payment_id, kind, amount, status, request, sealed, result, lease_until"
_JOINED_COLUMNS = ", ".join(f"i.{column}" for column in _COLUMNS.split(", "))


def _intent(row: tuple[Any, ...]) -> Intent:
    sealed, result = row[8], row[9]
    return Intent(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        int(row[5]),
        row[6],
        orjson.loads(row[7]),
        None if sealed is None else bytes(sealed),
        None if result is None else orjson.loads(result),
        int(row[10]),
    )


def claim(
    key: str,
    scope: tuple[str, str],
    payment_id: str,
    kind: str,
    amount: int,
    request: dict[str, Any],
    lease_until: int,
    created_at: int,
    sealed: bytes | None = None,
) -> Write:
    return Write(
        f"INSERT INTO processor_intents ({_COLUMNS}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        (
            key,
            *scope,
            payment_id,
            kind,
            amount,
            PENDING,
            orjson.dumps(request).decode(),
            sealed,
            lease_until,
            created_at,
        ),
        expect=1,
        label=CLAIM_LABEL,
    )


def settle(key: str, status: str, result: dict[str, Any] | None) -> Write:
    """Records the outcome, and forgets the sealed secrets: they were kept only to ask again."""
    return Write(
        "UPDATE processor_intents SET status = ?, result = ?, sealed = NULL WHERE idem_key = ? AND status = ?",
        (status, None if result is None else orjson.dumps(result).decode(), key, PENDING),
        expect=1,
        label=SETTLE_LABEL,
    )


def extend(key: str, lease_until: int, seen_lease: int) -> Write:
    """Takes a pending intent over for recovery, if nobody else did since it was read."""
    return Write(
        "UPDATE processor_intents SET lease_until = ? WHERE idem_key = ? AND status = ? AND lease_until = ?",
        (lease_until, key, PENDING, seen_lease),
        expect=1,
        label="take over processor intent",
    )


async def get(store: Store, key: str) -> Intent | None:
    row = await store.fetch_one(f"SELECT {_COLUMNS} FROM processor_intents WHERE idem_key = ?", (key,))
    return None if row is None else _intent(row)


async def payment_and_pending(
    store: Store, scope: tuple[str, str], payment_id: str
) -> tuple[Payment, list[Intent]] | None:
    """A payment of `scope` (as store/payments.py's `get` reads it) and the intents pending on
    it, in one query: an action plans with both, and on PostgreSQL a query is a round trip."""
    rows = await store.fetch_all(
        f"SELECT p.version, p.doc, {_JOINED_COLUMNS} FROM payments p LEFT JOIN processor_intents i"
        " ON i.payment_id = p.id AND i.status = ? WHERE p.id = ? AND p.merchant_id = ? AND p.mode = ?",
        (PENDING, payment_id, *scope),
    )
    if not rows:
        return None
    version, doc = rows[0][0], rows[0][1]
    return Payment.from_doc(doc, version), [_intent(row[2:]) for row in rows if row[2] is not None]


async def pending_for(store: Store, payment_id: str) -> list[Intent]:
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM processor_intents WHERE payment_id = ? AND status = ?", (payment_id, PENDING)
    )
    return [_intent(row) for row in rows]


async def overdue(store: Store, now: int, limit: int = 100) -> list[Intent]:
    """Pending intents whose lease has passed: their caller died or lost the answer."""
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM processor_intents WHERE status = ? AND lease_until <= ? ORDER BY lease_until LIMIT ?",
        (PENDING, now, limit),
    )
    return [_intent(row) for row in rows]


def remember_reference(processor: str, reference: str, scope: tuple[str, str], payment_id: str) -> Write:
    return Write(
        "INSERT INTO processor_references (processor, reference, merchant_id, mode, payment_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (processor, reference) DO NOTHING",
        (processor, reference, *scope, payment_id),
    )


async def payment_for(store: Store, processor: str, reference: str) -> tuple[str, str, str] | None:
    """(merchant_id, mode, payment_id) of a remote processor's payment reference."""
    row = await store.fetch_one(
        "SELECT merchant_id, mode, payment_id FROM processor_references WHERE processor = ? AND reference = ?",
        (processor, reference),
    )
    return None if row is None else (row[0], row[1], row[2])


async def open_payments(store: Store, processor: str, limit: int = 500) -> list[tuple[str, str, str, str]]:
    """(merchant_id, mode, payment_id, reference) of a remote processor's payments that are
    still open (pending or authorized): what a reconcile asks the processor about."""
    rows = await store.fetch_all(
        "SELECT r.merchant_id, r.mode, r.payment_id, r.reference FROM processor_references r"
        " JOIN payments p ON p.id = r.payment_id WHERE r.processor = ? AND p.status IN ('pending', 'authorized')"
        " ORDER BY p.created_at LIMIT ?",
        (processor, limit),
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def erase(merchant_id: str, mode: str) -> list[Write]:
    return [
        Write("DELETE FROM processor_intents WHERE merchant_id = ? AND mode = ?", (merchant_id, mode)),
        Write("DELETE FROM processor_references WHERE merchant_id = ? AND mode = ?", (merchant_id, mode)),
    ]
