"""The SQLite writer's transaction: the units of one batch, and the list counters they move.

Every unit of a batch shares one transaction (one fsync). They first run straight, with no
savepoint each (a savepoint and its release cost a payment's unit about 40% of its writing);
should one fail, the transaction is rolled back and the batch runs again with a savepoint per
unit, so that the failing unit fails alone and the others are written.

A row appended to a list (store/listing.py) takes its list's next number from `Counters`, the
writer's own copy of `list_positions`, without a statement; what the batch moved is written
once per list just before COMMIT (an upsert and a RETURNING per row cost a payment a third of
its writing). Only the server's writer thread writes the file; `PRAGMA data_version` tells it
when another connection committed, and then, as after any rollback, it reads them again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from komoju_server.store import listing
from komoju_server.store.base import Appends, Write, check

WRITE_COUNTER = (
    "INSERT INTO list_positions (merchant_id, mode, resource, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (merchant_id, mode, resource) DO UPDATE SET n = excluded.n"
)


class Job(Protocol):
    unit: Sequence[Write]


Outcome = tuple[Any, Any, bool]  # (job, row counts or the exception, whether it was written)


class Counters:
    """The writer thread's copy of the list counters it has read or moved (see above)."""

    def __init__(self) -> None:
        self._last: dict[Appends, int] = {}  # the last number each list gave
        self._moved: set[Appends] = set()  # lists whose number moved since it was written
        self._version: int | None = None

    def begin(self, conn: sqlite3.Connection) -> None:
        """Just after BEGIN IMMEDIATE: forgets every number if another connection wrote."""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self.forget()
            self._version = version

    def next(self, conn: sqlite3.Connection, lists: Appends) -> int:
        number = self._last.get(lists)
        if number is None:
            row = conn.execute(listing.COUNTER, (lists.merchant_id, lists.mode, lists.table)).fetchone()
            number = row[0] if row else 0
        number += 1
        self._last[lists] = number
        self._moved.add(lists)
        return number

    def write(self, conn: sqlite3.Connection) -> None:
        for lists in self._moved:
            conn.execute(WRITE_COUNTER, (lists.merchant_id, lists.mode, lists.table, self._last[lists]))
        self._moved.clear()

    def forget(self) -> None:
        self._last.clear()
        self._moved.clear()

    def saved(self) -> tuple[dict[Appends, int], set[Appends]]:
        return dict(self._last), set(self._moved)

    def restore(self, saved: tuple[dict[Appends, int], set[Appends]]) -> None:
        self._last, self._moved = saved[0], saved[1]


class Batch:
    """One transaction of the writer, begun by `run` and left for the caller to commit."""

    def __init__(self, conn: sqlite3.Connection, counters: Counters) -> None:
        self._conn = conn
        # One cursor for every statement of the batch: `conn.execute` makes a new one each.
        self._cursor = conn.cursor()
        self._counters = counters

    def run(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Every job's unit, in a transaction begun here; the caller commits it, or rolls it
        back (and then calls `Counters.forget`) if this raises."""
        self._begin()
        if len(jobs) == 1:  # alone in its transaction, a unit needs no savepoint of its own
            outcomes = [(jobs[0], self._apply(jobs[0].unit), True)]
        else:
            try:
                outcomes = [(job, self._apply(job.unit), True) for job in jobs]
            except Exception:
                self._conn.execute("ROLLBACK")
                self._counters.forget()
                self._begin()
                outcomes = [self._apply_in_savepoint(job) for job in jobs]
        self._counters.write(self._conn)
        return outcomes

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._counters.begin(self._conn)

    def _apply(self, unit: Sequence[Write]) -> list[int]:
        counts = []
        for write in unit:
            params = write.params
            if write.appends is not None:  # the row takes its list's next number
                params = (*params, self._counters.next(self._conn, write.appends))
            elif "list_positions" in write.sql:  # a statement of its own on the counters (a reset)
                self._counters.write(self._conn)
                self._counters.forget()
            cursor = self._cursor.execute(write.sql, params)
            rows = len(cursor.fetchall()) if write.condition else cursor.rowcount
            check(write, rows)
            counts.append(rows)
        return counts

    def _apply_in_savepoint(self, job: Job) -> Outcome:
        """Runs a unit that shares its transaction: a failure rolls back this unit alone."""
        saved = self._counters.saved()
        self._conn.execute("SAVEPOINT unit")
        try:
            counts = self._apply(job.unit)
        except Exception as exc:
            self._conn.execute("ROLLBACK TO unit")
            self._conn.execute("RELEASE unit")
            self._counters.restore(saved)
            return job, exc, False
        self._conn.execute("RELEASE unit")
        return job, counts, True
