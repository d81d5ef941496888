"""The newest API requests of each merchant and mode, for the dashboard: method, path (never the
query string), status, time and request id. Never a body, a header or a key.

Written in batches (`services/recent_requests.py` buffers them in each process) and pruned to
the newest `KEEP` per merchant and mode in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from komoju_server.store.base import Store, Write

KEEP = 100  # rows kept per (merchant, mode)
_ROWS_PER_INSERT = 100  # 7 parameters a row: well under every backend's limit


@dataclass(frozen=True, slots=True)
class Logged:
    merchant_id: str
    mode: str
    method: str
    path: str
    status: int
    request_id: str
    at_ms: int


def insert(rows: Sequence[Logged]) -> list[Write]:
    """Multi-row INSERTs, oldest first (so `seq` follows the order they were answered)."""
    writes: list[Write] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        marks = ", ".join("(?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
        params: list[object] = []
        for row in chunk:
            params += [row.merchant_id, row.mode, row.method, row.path, row.status, row.request_id, row.at_ms]
        writes.append(
            Write(
                f"INSERT INTO request_log (merchant_id, mode, method, path, status, request_id, at_ms) VALUES {marks}",
                params,
            )
        )
    return writes


def prune(scope: tuple[str, str], keep: int = KEEP) -> Write:
    """All but the newest `keep` rows of one merchant and mode."""
    return Write(
        "DELETE FROM request_log WHERE merchant_id = ? AND mode = ? AND seq <= (SELECT seq FROM request_log"
        " WHERE merchant_id = ? AND mode = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (*scope, *scope, keep),
    )


async def newest(store: Store, scope: tuple[str, str], limit: int = KEEP) -> list[Logged]:
    rows = await store.fetch_all(
        "SELECT method, path, status, request_id, at_ms FROM request_log WHERE merchant_id = ? AND mode = ?"
        " ORDER BY seq DESC LIMIT ?",
        (*scope, limit),
    )
    return [Logged(scope[0], scope[1], str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4])) for r in rows]
