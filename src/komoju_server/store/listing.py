"""One way to page through any resource table, newest first, fast however deep the page.

Append-only lists (payments, events) give each row a position within its (merchant, mode),
counted in `list_positions` in the same unit of work as the insert. An unfiltered page is
then one range of a unique index, and the total is one row: page 1 and page 10,000 of a
million rows cost the same. Filtered lists, and tables whose rows can be deleted, count
and skip through their indexes instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from komoju_server.domain.clock import TimeRange
from komoju_server.store.base import Row, Store, Write

Condition = tuple[str, Sequence[Any]]

NEXT_POSITION = (
    "INSERT INTO list_positions (merchant_id, mode, resource, n) VALUES (?, ?, ?, 1) "
    "ON CONFLICT (merchant_id, mode, resource) DO UPDATE SET n = list_positions.n + 1"
)
# Used inside an INSERT right after NEXT_POSITION, in the same unit of work.
CURRENT_POSITION = "(SELECT n FROM list_positions WHERE merchant_id = ? AND mode = ? AND resource = ?)"


def created_within(created: TimeRange) -> list[Condition]:
    """The conditions of a list's `start_time` / `end_time` filters (inclusive)."""
    bounds = (("created_at >= ?", created.start), ("created_at <= ?", created.end))
    return [(clause, (value,)) for clause, value in bounds if value is not None]


def any_of(column: str, values: Sequence[str]) -> Condition:
    """`column` equal to one of `values` (one or more): a list filter that takes several."""
    if len(values) == 1:
        return (f"{column} = ?", (values[0],))
    return (f"{column} IN ({', '.join('?' * len(values))})", tuple(values))


def next_position(merchant_id: str, mode: str, resource: str) -> Write:
    return Write(NEXT_POSITION, (merchant_id, mode, resource), expect=1, label=f"{resource} position")


def forget_positions(merchant_id: str, mode: str, resource: str) -> Write:
    """For when every row of the list is deleted at once (a sandbox reset)."""
    return Write(
        "DELETE FROM list_positions WHERE merchant_id = ? AND mode = ? AND resource = ?", (merchant_id, mode, resource)
    )


async def page(
    store: Store,
    table: str,
    scope: tuple[str, str],
    conditions: Sequence[Condition],
    number: int,
    per_page: int,
    columns: str = "doc",
    positioned: bool = False,
) -> tuple[int, list[Row]]:
    offset = (number - 1) * per_page
    if positioned and not conditions:
        row = await store.fetch_one(
            "SELECT n FROM list_positions WHERE merchant_id = ? AND mode = ? AND resource = ?", (*scope, table)
        )
        total = int(row[0]) if row else 0
        top = total - offset
        if top <= 0:
            return total, []
        rows = await store.fetch_all(
            f"SELECT {columns} FROM {table} WHERE merchant_id = ? AND mode = ? AND pos <= ? AND pos > ? "
            "ORDER BY pos DESC",
            (*scope, top, top - per_page),
        )
        return total, rows
    order = "pos" if positioned else "seq"
    where = " AND ".join(["merchant_id = ?", "mode = ?"] + [clause for clause, _ in conditions])
    params: list[Any] = [*scope]
    for _, values in conditions:
        params.extend(values)
    count = await store.fetch_one(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
    total = int(count[0]) if count else 0
    if offset >= total:
        return total, []
    rows = await store.fetch_all(
        f"SELECT {columns} FROM {table} WHERE seq IN "
        f"(SELECT seq FROM {table} WHERE {where} ORDER BY {order} DESC LIMIT ? OFFSET ?) ORDER BY {order} DESC",
        [*params, per_page, offset],
    )
    return total, rows
