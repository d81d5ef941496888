"""One way to page through any resource table, newest first, fast however deep the page.

Append-only lists (payments, events) number their rows 1, 2, 3... within each (merchant,
mode), and `list_positions` holds how many are numbered. An unfiltered page is then one range
of a unique index, and the total is one row: page 1 and page 10,000 of a million rows cost the
same. Filtered lists, and tables whose rows can be deleted, count and skip through their
indexes instead.

Who numbers a row, and when, depends on the backend. SQLite has one writer, so an insert takes
the next number in its own unit of work (store/sqlite_batch.py). On PostgreSQL that counter row
would be a lock every writer of the merchant queues on until its commit, so one merchant's
writes could never run side by side, whatever the processes or hosts: there a row is inserted
unnumbered (`pos` NULL, "the tail"), and once its unit has committed, `number_list` numbers the
whole tail in one short transaction of its own. A page reads the tail (newest first, by `seq`)
above the numbered rows, in one statement, so it sees one snapshot: every committed row exactly
once, in an order that never changes once the row is numbered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from komoju_server.domain.clock import TimeRange
from komoju_server.store.base import Appends, Row, Store, Write

Condition = tuple[str, Sequence[Any]]

# How many rows of a list are numbered: its newest numbered row's position.
COUNTER = "SELECT n FROM list_positions WHERE merchant_id = ? AND mode = ? AND resource = ?"
# PostgreSQL numbers a list's tail in a transaction of its own after the inserts committed
# (the function `number_list`, store/migrations.py): the counter row is made if need be, then
# locked, so that two processes numbering one list take turns; the tail is read after the lock
# was granted (each statement sees what committed before it began), so it never holds a row
# another numbering has numbered; the tail is numbered after the counter, oldest first, and the
# counter moved past it.
# One page of an unfiltered list and the list's total, from one snapshot. List index i (0 is
# the newest) is the tail's i-th newest row while i < tail, else the row numbered total - i:
# so the numbered rows of the page at `offset` are those numbered in (total - offset - size,
# total - offset]. Each row: the total, then `seq` and `pos`, then the columns asked for (all
# NULL but the total when the page is empty).
PAGE = f"""WITH list AS (SELECT
    COALESCE(({COUNTER}), 0)
    + (SELECT COUNT(*) FROM {{table}} WHERE merchant_id = ? AND mode = ? AND pos IS NULL) AS total)
SELECT list.total, page.* FROM list LEFT JOIN (
    SELECT * FROM (SELECT seq, pos, {{columns}} FROM {{table}} WHERE merchant_id = ? AND mode = ? AND pos IS NULL
        ORDER BY seq DESC LIMIT ? OFFSET ?) tail
    UNION ALL
    SELECT seq, pos, {{columns}} FROM {{table}} WHERE merchant_id = ? AND mode = ?
        AND pos <= (SELECT total FROM list) - ? AND pos > (SELECT total FROM list) - ? - ?
) page ON 1 = 1
ORDER BY page.pos DESC NULLS FIRST, page.seq DESC"""


def created_within(created: TimeRange) -> list[Condition]:
    """The conditions of a list's `start_time` / `end_time` filters (inclusive)."""
    bounds = (("created_at >= ?", created.start), ("created_at <= ?", created.end))
    return [(clause, (value,)) for clause, value in bounds if value is not None]


def any_of(column: str, values: Sequence[str]) -> Condition:
    """`column` equal to one of `values` (one or more): a list filter that takes several."""
    if len(values) == 1:
        return (f"{column} = ?", (values[0],))
    return (f"{column} IN ({', '.join('?' * len(values))})", tuple(values))


def appended(table: str, merchant_id: str, mode: str, sql: str, params: Sequence[Any], label: str) -> Write:
    """The insert of a row into `table`'s list; `sql`'s last `?` is the row's `pos`."""
    return Write(sql, params, expect=1, label=label, appends=Appends(table, merchant_id, mode))


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
    if positioned and not conditions and store.kind == "sqlite":
        # Every row is numbered in its own unit: no tail, so the page is one range. (PAGE would
        # find the same rows, at three times the cost: SQLite sorts the page's documents.)
        row = await store.fetch_one(COUNTER, (*scope, table))
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
    if positioned and not conditions:
        rows = await store.fetch_all(
            PAGE.format(table=table, columns=columns),
            (*scope, table, *scope, *scope, per_page, offset, *scope, offset, offset, per_page),
        )
        total = int(rows[0][0]) if rows else 0
        return total, [row[3:] for row in rows if row[1] is not None]
    # The unnumbered tail first (PostgreSQL puts NULLs first in a descending order; SQLite has no tail).
    order = "pos DESC, seq DESC" if positioned else "seq DESC"
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
        f"(SELECT seq FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
        [*params, per_page, offset],
    )
    return total, rows
