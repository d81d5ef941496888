"""The storage interface every backend implements.

Reads are plain queries. Writes come as a *unit of work*: a list of statements applied
atomically, each of which may state how many rows it must touch. A statement that touches
a different number of rows (a conditional `UPDATE ... WHERE version = ?` that lost a race,
an `INSERT ... ON CONFLICT DO NOTHING` that found a row) rolls the whole unit back and
raises `Conflict`, naming the statement; nothing of the unit is written. A unit may also
hold on a *condition*: a query that changes nothing and must find exactly `expect` rows when
the unit runs (a value this process read earlier and still takes as true), else the same.

SQL is written once, with `?` placeholders; backends translate as they need.

When the database cannot be reached (connection refused or reset, a connection or pool
timeout, the SQLite file gone or failing with I/O errors), every operation raises
`StoreUnavailable` instead of the driver's own error, and a unit of work that raises it was
not acknowledged: it rolled back whole or never began. Genuine bugs (bad SQL) keep their
driver's error. An `Outage` per store logs the outage once when it starts and once when it
ends, not once per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any, NamedTuple, Protocol

from komoju_server.domain.values import value

Row = tuple[Any, ...]

log = logging.getLogger("komoju_server")


class Appends(NamedTuple):
    """The list a row joins: `table`'s rows of one merchant in one mode, numbered 1, 2, 3...
    in the order they were numbered (see store/listing.py). A named tuple rather than a
    dataclass: the SQLite writer looks each list up in its counters a few times per row, and a
    tuple hashes and compares in C (a dataclass's __hash__ and __eq__ were a fifth of the
    writer's Python per payment)."""

    table: str
    merchant_id: str
    mode: str


@value  # not slotted: built for every statement of every unit, and a value's __init__ is cheaper
class Write:
    sql: str
    params: Sequence[Any] = field(default_factory=tuple)
    expect: int | None = None  # rows this statement must touch, or None for any
    label: str = ""  # names the statement in a Conflict
    # An insert into an append-only list: its last `?` is the new row's position, which the
    # store gives (SQLite at once, PostgreSQL after commit; see store/listing.py).
    appends: Appends | None = None
    # A query (SELECT) that changes nothing: the unit holds only if it finds `expect` rows.
    condition: bool = False
    # A name to announce once the unit has committed, if this statement touched a row: the
    # store then calls whoever listens for it (`Listeners`), in the event loop's thread.
    wakes: str | None = None


def condition(sql: str, params: Sequence[Any], label: str) -> Write:
    """A unit's condition (see above) that exactly one row is found."""
    return Write(sql, params, expect=1, label=label, condition=True)


class Conflict(Exception):
    """A unit of work was rolled back because `write` touched `rows` rows instead of `write.expect`."""

    def __init__(self, write: Write, rows: int) -> None:
        self.write = write
        self.rows = rows
        super().__init__(f"{write.label or write.sql[:60]}: touched {rows} rows, expected {write.expect}")


class StoreUnavailable(Exception):
    """The database cannot be reached right now; the operation did nothing (the API answers 503).

    Its message names the cause's type and the driver's words for it ("disk I/O error",
    "Connect call failed"), never SQL parameters.
    """


class Outage:
    """Whether a store's database is reachable, with one log line when an outage starts and one
    when it ends.

    Each way of reaching the database (a backend's reads and writes, say) is a *channel*: the
    outage starts when the first channel fails and ends when every failed channel has worked
    again, so reads that still work while writes fail (a full disk) do not end it.
    Event loop thread only.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        self._down: set[str] = set()
        self._since = 0.0

    @property
    def down(self) -> frozenset[str]:
        return frozenset(self._down)

    def lost(self, channel: str, cause: BaseException) -> StoreUnavailable:
        """Records `channel` failing with `cause`; returns the exception to raise."""
        reason = describe(cause)
        if not self._down:
            self._since = time.monotonic()
            log.warning("%s unavailable (%s): answering 503 until it is back", self._database, reason)
        self._down.add(channel)
        return StoreUnavailable(f"{self._database} unavailable: {reason}")

    def ok(self, channel: str) -> None:
        """`channel` just worked."""
        if self._down and channel in self._down:
            self._down.discard(channel)
            if not self._down:
                log.warning("%s is back after %.1f s", self._database, time.monotonic() - self._since)


def describe(cause: BaseException) -> str:
    detail = str(cause).strip()[:200]
    return f"{type(cause).__name__}: {detail}" if detail else type(cause).__name__


class Listeners:
    """Who a store tells, after a unit commits, that its `wakes` statements touched rows: the
    webhook worker learns of new deliveries once they can be read, and only when there are."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[Callable[[], None]]] = {}

    def add(self, name: str, listener: Callable[[], None]) -> None:
        self._by_name.setdefault(name, []).append(listener)

    def committed(self, unit: Sequence[Write], counts: Sequence[int]) -> None:
        """`unit` committed with `counts` rows touched by each statement."""
        woken = {write.wakes for write, rows in zip(unit, counts, strict=True) if write.wakes is not None and rows}
        for name in woken:
            for listener in self._by_name.get(name, ()):
                listener()


class Store(Protocol):
    kind: str  # "sqlite" or "postgres"
    listeners: Listeners

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def ping(self) -> None:
        """Returns when the database can serve; raises `StoreUnavailable` otherwise."""
        ...

    async def run(self, unit: Sequence[Write]) -> list[int]:
        """Apply the unit atomically and durably; returns the row count of each statement."""
        ...

    async def migrate(self) -> list[int]:
        """Apply pending schema migrations; returns the versions applied."""
        ...


def check(write: Write, rows: int) -> None:
    if write.expect is not None and rows != write.expect:
        raise Conflict(write, rows)
