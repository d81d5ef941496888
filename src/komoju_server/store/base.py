"""The storage interface every backend implements.

Reads are plain queries. Writes come as a *unit of work*: a list of statements applied
atomically, each of which may state how many rows it must touch. A statement that touches
a different number of rows (a conditional `UPDATE ... WHERE version = ?` that lost a race,
an `INSERT ... ON CONFLICT DO NOTHING` that found a row) rolls the whole unit back and
raises `Conflict`, naming the statement; nothing of the unit is written.

SQL is written once, with `?` placeholders; backends translate as they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Write:
    sql: str
    params: Sequence[Any] = field(default_factory=tuple)
    expect: int | None = None  # rows this statement must touch, or None for any
    label: str = ""  # names the statement in a Conflict


class Conflict(Exception):
    """A unit of work was rolled back because `write` touched `rows` rows instead of `write.expect`."""

    def __init__(self, write: Write, rows: int) -> None:
        self.write = write
        self.rows = rows
        super().__init__(f"{write.label or write.sql[:60]}: touched {rows} rows, expected {write.expect}")


class Store(Protocol):
    kind: str  # "sqlite" or "postgres"

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def run(self, unit: Sequence[Write]) -> list[int]:
        """Apply the unit atomically and durably; returns the row count of each statement."""
        ...

    async def migrate(self) -> list[int]:
        """Apply pending schema migrations; returns the versions applied."""
        ...


def check(write: Write, rows: int) -> None:
    if write.expect is not None and rows != write.expect:
        raise Conflict(write, rows)
