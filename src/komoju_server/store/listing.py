"""One way to page through any resource table: newest first, counted, fast on deep pages.

Every listed table has `seq` (insertion order), `merchant_id`, `mode` and `doc` columns and
an index on (merchant_id, mode, seq). The page's rows are picked by `seq` from the index
alone, and only those rows' documents are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from komoju_server.store.base import Row, Store

Condition = tuple[str, Sequence[Any]]


async def page(
    store: Store,
    table: str,
    scope: tuple[str, str],
    conditions: Sequence[Condition],
    page: int,
    per_page: int,
    columns: str = "doc",
) -> tuple[int, list[Row]]:
    where = ["merchant_id = ?", "mode = ?"] + [clause for clause, _ in conditions]
    params: list[Any] = [scope[0], scope[1]]
    for _, values in conditions:
        params.extend(values)
    where_sql = " AND ".join(where)
    count = await store.fetch_one(f"SELECT COUNT(*) FROM {table} WHERE {where_sql}", params)
    total = int(count[0]) if count else 0
    offset = (page - 1) * per_page
    if offset >= total:
        return total, []
    rows = await store.fetch_all(
        f"SELECT {columns} FROM {table} WHERE seq IN "
        f"(SELECT seq FROM {table} WHERE {where_sql} ORDER BY seq DESC LIMIT ? OFFSET ?) ORDER BY seq DESC",
        [*params, per_page, offset],
    )
    return total, rows
