"""The webhook tables: endpoints, deliveries (the outbox) and their attempts.

Deliveries are written in the same unit of work as their event. Endpoint deliveries are
fanned out by one `INSERT ... SELECT` over the merchant's endpoints, inside that unit: the
database itself decides which endpoints exist at that moment, in every server process alike,
with no cache to go stale and no extra round trip before the write.

Scheduling times (`next_attempt_at`, `started_at`) are real time in milliseconds; they time
real HTTP requests, so the sandbox clock does not move them. `next_attempt_at` doubles as the
lease of a claimed delivery: claiming pushes it to the end of the lease, so a delivery whose
worker died becomes due again when the lease runs out. `claim` names the claim a worker holds
(NULL when none) and every write finishing a delivery is conditional on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from komoju_server.domain import webhook
from komoju_server.domain.webhook import Attempt, Delivery, Endpoint
from komoju_server.store import listing
from komoju_server.store.base import Store, Write

ENDPOINT_COLUMNS = "id, merchant_id, mode, url, events, created_at"
DELIVERY_COLUMNS = "id, event_id, event_type, endpoint_id, url, status, next_attempt_at, created_at"
# Endpoint deliveries get ids made in SQL from a fresh id of the fanout (its last 13 characters,
# which are random; its first ones tell the time) and the endpoint's id (its last 12): 25
# characters of [0-9a-z], like every id, distinct per endpoint within a fanout and per fanout
# for an endpoint.
FANOUT_ID_PREFIX = 13
SECRET_TABLE = "webhook_endpoints"  # the vault's associated data names the row a secret belongs to


# -- endpoints -------------------------------------------------------------------------------


def insert_endpoint(endpoint: Endpoint, sealed_secret: bytes) -> Write:
    return Write(
        "INSERT INTO webhook_endpoints (id, merchant_id, mode, url, secret, events, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            endpoint.id,
            endpoint.merchant_id,
            endpoint.mode,
            endpoint.url,
            sealed_secret,
            webhook.encode_events(endpoint.events),
            endpoint.created_at,
        ),
        expect=1,
        label="insert webhook",
    )


def _endpoint(row: Sequence[object]) -> Endpoint:
    return Endpoint(
        id=str(row[0]),
        merchant_id=str(row[1]),
        mode=str(row[2]),
        url=str(row[3]),
        events=webhook.decode_events(row[4]),  # type: ignore[arg-type]
        created_at=int(row[5]),  # type: ignore[call-overload]
    )


async def get_endpoint(store: Store, scope: tuple[str, str], endpoint_id: str) -> Endpoint | None:
    row = await store.fetch_one(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints"
        " WHERE id = ? AND merchant_id = ? AND mode = ? AND deleted_at IS NULL",
        (endpoint_id, *scope),
    )
    return None if row is None else _endpoint(row)


async def page_endpoints(
    store: Store, scope: tuple[str, str], number: int, per_page: int
) -> tuple[int, list[Endpoint]]:
    total, rows = await listing.page(
        store, "webhook_endpoints", scope, [("deleted_at IS NULL", ())], number, per_page, columns=ENDPOINT_COLUMNS
    )
    return total, [_endpoint(row) for row in rows]


def update_endpoint(endpoint: Endpoint, sealed_secret: bytes | None) -> Write:
    """The endpoint's URL and events, and its secret token when a new one is given (None keeps it)."""
    secret, params = ("", ()) if sealed_secret is None else (", secret = ?", (sealed_secret,))
    return Write(
        f"UPDATE webhook_endpoints SET url = ?, events = ?{secret} WHERE id = ? AND merchant_id = ? AND mode = ?"
        " AND deleted_at IS NULL",
        (
            endpoint.url,
            webhook.encode_events(endpoint.events),
            *params,
            endpoint.id,
            endpoint.merchant_id,
            endpoint.mode,
        ),
        expect=1,
        label="update webhook",
    )


def delete_endpoint(scope: tuple[str, str], endpoint_id: str, now: int) -> list[Write]:
    """Deleted endpoints stay as rows (their deliveries point at them) but are never seen again;
    what was still waiting to be sent to them is cancelled."""
    return [
        Write(
            "UPDATE webhook_endpoints SET deleted_at = ? WHERE id = ? AND merchant_id = ? AND mode = ?"
            " AND deleted_at IS NULL",
            (now, endpoint_id, *scope),
            expect=1,
            label="delete webhook",
        ),
        Write(
            "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL"
            " WHERE endpoint_id = ? AND status = 'pending' AND claim IS NULL",
            (endpoint_id,),
        ),
    ]


async def scopes_with_endpoints(store: Store) -> set[tuple[str, str]]:
    """Every (merchant, mode) with at least one live endpoint."""
    rows = await store.fetch_all("SELECT DISTINCT merchant_id, mode FROM webhook_endpoints WHERE deleted_at IS NULL")
    return {(str(row[0]), str(row[1])) for row in rows}


# -- writing deliveries ----------------------------------------------------------------------


def _like_pattern(event_type: str) -> str:
    escaped = event_type.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%,{escaped},%"


# What a unit that wrote deliveries announces once committed (`Write.wakes`): the worker looks.
DELIVERIES = "webhook deliveries"


def fanout_to_endpoints(
    fanout_id: str,
    event_id: str,
    event_type: str,
    scope: tuple[str, str],
    created_at: int,
    due_ms: int,
    only_endpoint: str | None = None,
) -> Write:
    """One delivery for each live endpoint of the merchant subscribed to this event type; or,
    with `only_endpoint`, for that endpoint alone whatever it subscribes to (a ping)."""
    if only_endpoint is None:
        target, target_params = "AND (events IS NULL OR events LIKE ? ESCAPE '!')", (_like_pattern(event_type),)
    else:
        target, target_params = "AND id = ?", (only_endpoint,)
    return Write(
        "INSERT INTO webhook_deliveries"
        " (id, merchant_id, mode, event_id, event_type, endpoint_id, source, url, status, attempts,"
        " next_attempt_at, created_at)"
        f" SELECT substr(?, {26 - FANOUT_ID_PREFIX}, {FANOUT_ID_PREFIX}) || substr(id, {FANOUT_ID_PREFIX + 1}),"
        " merchant_id, mode,"
        " CAST(? AS TEXT), CAST(? AS TEXT), id, 'endpoint', url, 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT)"
        f" FROM webhook_endpoints WHERE merchant_id = ? AND mode = ? AND deleted_at IS NULL {target}",
        (fanout_id, event_id, event_type, due_ms, created_at, *scope, *target_params),
        label="webhook fanout",
        wakes=DELIVERIES,
    )


def insert_delivery(
    delivery_id: str,
    event_id: str,
    event_type: str,
    scope: tuple[str, str],
    endpoint_id: str | None,
    source: str,
    url: str,
    created_at: int,
    due_ms: int,
) -> Write:
    """`source`: `endpoint` (a webhook endpoint), `setting` (serve --webhook-url) or `payment`
    (a URL of the payment's `webhooks`)."""
    return Write(
        "INSERT INTO webhook_deliveries"
        " (id, merchant_id, mode, event_id, event_type, endpoint_id, source, url, status, attempts,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (delivery_id, *scope, event_id, event_type, endpoint_id, source, url, due_ms, created_at),
        expect=1,
        label="insert webhook delivery",
        wakes=DELIVERIES,
    )


async def payment_urls(store: Store, event_id: str) -> list[str]:
    """The per-payment URLs an event was sent to, in the order they were first written."""
    rows = await store.fetch_all(
        "SELECT url, MIN(seq) FROM webhook_deliveries WHERE event_id = ? AND source = 'payment'"
        " GROUP BY url ORDER BY MIN(seq)",
        (event_id,),
    )
    return [str(row[0]) for row in rows]


# -- reading deliveries ----------------------------------------------------------------------


async def page_deliveries(
    store: Store, scope: tuple[str, str], condition: listing.Condition, number: int, per_page: int
) -> tuple[int, list[Delivery]]:
    total, rows = await listing.page(
        store, "webhook_deliveries", scope, [condition], number, per_page, columns=DELIVERY_COLUMNS
    )
    deliveries = [_delivery(row) for row in rows]
    await _with_attempts(store, deliveries)
    return total, deliveries


async def of_events(store: Store, scope: tuple[str, str], event_ids: Sequence[str]) -> list[Delivery]:
    """Every delivery of these events, oldest first, with every attempt: what was sent (the
    signature) and what the receiver answered (status, the start of its body)."""
    if not event_ids:
        return []
    marks = ", ".join("?" for _ in event_ids)
    rows = await store.fetch_all(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE event_id IN ({marks}) AND merchant_id = ?"
        " AND mode = ? ORDER BY seq",
        (*event_ids, *scope),
    )
    deliveries = [_delivery(row) for row in rows]
    await _with_attempts(store, deliveries, answers=True)
    return deliveries


def _delivery(row: Sequence[object]) -> Delivery:
    return Delivery(
        id=str(row[0]),
        event_id=str(row[1]),
        event_type=str(row[2]),
        endpoint_id=None if row[3] is None else str(row[3]),
        url=str(row[4]),
        status=str(row[5]),
        next_attempt_ms=None if row[6] is None else int(row[6]),  # type: ignore[call-overload]
        created_at=int(row[7]),  # type: ignore[call-overload]
    )


async def _with_attempts(store: Store, deliveries: list[Delivery], answers: bool = False) -> None:
    if not deliveries:
        return
    by_id = {d.id: d for d in deliveries}
    marks = ", ".join("?" for _ in deliveries)
    extra = ", signature, response_body" if answers else ""
    for row in await store.fetch_all(
        f"SELECT delivery_id, number, status, response_code, error, started_at, duration_ms{extra}"
        f" FROM webhook_attempts WHERE delivery_id IN ({marks}) ORDER BY delivery_id, number",
        list(by_id),
    ):
        attempt = Attempt(row[1], row[2], row[3], row[4], int(row[5]), row[6])
        if answers:
            attempt.signature, attempt.response_body = row[7], row[8]
        by_id[row[0]].attempts.append(attempt)


# -- the worker's side -----------------------------------------------------------------------


async def next_due(store: Store) -> int | None:
    """When the earliest pending delivery is due (ms), claimed ones included (their lease end)."""
    row = await store.fetch_one("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
    return None if row is None or row[0] is None else int(row[0])


def claim(kind: str, token: str, now_ms: int, lease_until_ms: int, limit: int) -> list[Write]:
    """Claims up to `limit` due deliveries under `token` and opens an attempt for each.

    On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets many processes claim at once without two of
    them taking one delivery. SQLite has one writer, which runs this unit alone.
    An attempt still `sending` on a delivery claimed again was cut short by a crash: it is
    marked interrupted (the receiver may or may not have had it) before the new one opens.
    """
    lock = " FOR UPDATE SKIP LOCKED" if kind == "postgres" else ""
    return [
        Write(
            "UPDATE webhook_deliveries SET claim = ?, attempts = attempts + 1, next_attempt_at = ?"
            " WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
            f" ORDER BY next_attempt_at LIMIT ?{lock})",
            (token, lease_until_ms, now_ms, limit),
            label="claim webhook deliveries",
        ),
        Write(
            "UPDATE webhook_attempts SET status = 'interrupted', error = ?"
            " WHERE status = 'sending' AND delivery_id IN (SELECT id FROM webhook_deliveries WHERE claim = ?)",
            ("the server stopped before the answer was recorded", token),
        ),
        Write(
            "INSERT INTO webhook_attempts (delivery_id, number, status, started_at)"
            " SELECT id, attempts, 'sending', CAST(? AS BIGINT) FROM webhook_deliveries WHERE claim = ?",
            (now_ms, token),
        ),
    ]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    event_type: str
    url: str
    endpoint_id: str | None
    attempt: int
    body: bytes | None  # the event as stored; None when the event is gone
    sealed_secret: bytes | None  # the endpoint's secret token, sealed by the vault; None for other sources
    endpoint_deleted: bool
    event_id: str = ""


async def claimed(store: Store, token: str) -> list[Claimed]:
    rows = await store.fetch_all(
        "SELECT d.id, d.event_type, d.url, d.endpoint_id, d.attempts, e.doc, w.secret, w.deleted_at, d.event_id"
        " FROM webhook_deliveries d LEFT JOIN events e ON e.id = d.event_id"
        " LEFT JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.claim = ? ORDER BY d.next_attempt_at",
        (token,),
    )
    return [
        Claimed(
            id=row[0],
            event_type=row[1],
            url=row[2],
            endpoint_id=row[3],
            attempt=int(row[4]),
            body=None if row[5] is None else str(row[5]).encode("utf-8"),
            sealed_secret=None if row[6] is None else bytes(row[6]),
            endpoint_deleted=row[7] is not None,
            event_id=str(row[8]),
        )
        for row in rows
    ]


def record_attempt(
    delivery_id: str,
    number: int,
    status: str,
    response_code: int | None,
    error: str | None,
    duration_ms: int,
    signature: str | None = None,
    response_body: str | None = None,
) -> Write:
    """An attempt's outcome, and what it sent (its signature header) and the start of what the
    receiver answered (None for an attempt never sent), in one statement."""
    return Write(
        "UPDATE webhook_attempts SET status = ?, response_code = ?, error = ?, duration_ms = ?, signature = ?,"
        " response_body = ? WHERE delivery_id = ? AND number = ?",
        (status, response_code, error, duration_ms, signature, response_body, delivery_id, number),
    )


def succeed(delivery_id: str, token: str) -> Write:
    return Write(
        "UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, claim = NULL"
        " WHERE id = ? AND claim = ?",
        (delivery_id, token),
    )


def retry_at(delivery_id: str, token: str, due_ms: int) -> Write:
    # Conditional on `pending` too: a delivery cancelled while its attempt was under way stays so.
    return Write(
        "UPDATE webhook_deliveries SET next_attempt_at = ?, claim = NULL WHERE id = ? AND claim = ?"
        " AND status = 'pending'",
        (due_ms, delivery_id, token),
    )


def give_up(delivery_id: str, token: str) -> Write:
    return Write(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, claim = NULL"
        " WHERE id = ? AND claim = ? AND status = 'pending'",
        (delivery_id, token),
    )


def cancel_unsent(delivery_id: str, token: str, number: int) -> list[Write]:
    """A claimed delivery that must not be sent (endpoint deleted, event erased): the attempt
    opened for it never happened."""
    return [
        Write("DELETE FROM webhook_attempts WHERE delivery_id = ? AND number = ?", (delivery_id, number)),
        Write(
            "UPDATE webhook_deliveries SET status = 'cancelled', attempts = attempts - 1, next_attempt_at = NULL,"
            " claim = NULL WHERE id = ? AND claim = ?",
            (delivery_id, token),
        ),
    ]


def release(delivery_id: str, token: str, number: int, now_ms: int) -> list[Write]:
    """Gives a delivery back at shutdown, its attempt cut short: due again at once."""
    return [
        Write(
            "UPDATE webhook_attempts SET status = 'interrupted', error = ? WHERE delivery_id = ? AND number = ?"
            " AND status = 'sending'",
            ("the server stopped during the attempt", delivery_id, number),
        ),
        Write(
            "UPDATE webhook_deliveries SET next_attempt_at = ?, claim = NULL WHERE id = ? AND claim = ?"
            " AND status = 'pending'",
            (now_ms, delivery_id, token),
        ),
    ]


def release_all_claims(now_ms: int) -> Write:
    """For a server that is the database's only process (SQLite), at start: any claim left is a
    dead process's, so its deliveries are due at once instead of when the lease runs out."""
    return Write(
        "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE claim IS NOT NULL AND status = 'pending'",
        (now_ms,),
    )


# -- a sandbox reset -------------------------------------------------------------------------

# The deliveries of a merchant's events, found through the events' own index: these erasers
# run before the events are erased.
_OF_SCOPE = (
    "SELECT id FROM webhook_deliveries WHERE event_id IN (SELECT id FROM events WHERE merchant_id = ? AND mode = ?)"
)


def erase_attempts(merchant_id: str, mode: str) -> list[Write]:
    """The attempts of every delivery of a merchant in one mode. Its endpoints stay: they are
    settings, not test data."""
    return [Write(f"DELETE FROM webhook_attempts WHERE delivery_id IN ({_OF_SCOPE})", (merchant_id, mode))]


def erase_deliveries(merchant_id: str, mode: str) -> list[Write]:
    """Every delivery of a merchant in one mode (after `erase_attempts`, which finds them)."""
    return [Write(f"DELETE FROM webhook_deliveries WHERE id IN ({_OF_SCOPE})", (merchant_id, mode))]
