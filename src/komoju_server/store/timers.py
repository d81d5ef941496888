"""The timers table: when something must happen to an object (a payment's deadline, a
subscription's next charge).

`fire_at` is the moment on the merchant's clock. `due_at` is the same moment in real time
(`fire_at` less the merchant's sandbox offset), so that one index finds what is due across
every merchant. It is computed from the merchants row in the statement that writes it, and
computed again from it whenever the merchant's clock is advanced.

A timer is a reminder, not the truth: whoever handles it reads the object and decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from komoju_server.store.base import Store, Write

# The merchant's sandbox offset (test mode only; live time is real time).
_OFFSET = "CASE WHEN ? = 'test' THEN COALESCE((SELECT clock_offset FROM merchants WHERE id = ?), 0) ELSE 0 END"
_COLUMNS = "kind, ref_id, merchant_id, mode, fire_at"


@dataclass(frozen=True)
class Timer:
    kind: str
    ref_id: str
    merchant_id: str
    mode: str
    fire_at: int


def set_(kind: str, ref_id: str, merchant_id: str, mode: str, fire_at: int) -> Write:
    """Schedules (or moves) the timer of an object."""
    return Write(
        f"INSERT INTO timers ({_COLUMNS}, due_at) VALUES (?, ?, ?, ?, ?, ? - {_OFFSET})"
        " ON CONFLICT (kind, ref_id) DO UPDATE SET fire_at = excluded.fire_at, due_at = excluded.due_at",
        (kind, ref_id, merchant_id, mode, fire_at, fire_at, mode, merchant_id),
        label="set timer",
    )


def cancel(kind: str, ref_id: str) -> Write:
    return Write("DELETE FROM timers WHERE kind = ? AND ref_id = ?", (kind, ref_id), label="cancel timer")


def moved(timer: Timer, fire_at: int) -> Write:
    """Moves a fired timer to its next time, unless someone moved it meanwhile."""
    return Write(
        f"UPDATE timers SET fire_at = ?, due_at = ? - {_OFFSET} WHERE kind = ? AND ref_id = ? AND fire_at = ?",
        (fire_at, fire_at, timer.mode, timer.merchant_id, timer.kind, timer.ref_id, timer.fire_at),
    )


def done(timer: Timer) -> Write:
    """Drops a fired timer, unless someone moved it meanwhile."""
    return Write(
        "DELETE FROM timers WHERE kind = ? AND ref_id = ? AND fire_at = ?", (timer.kind, timer.ref_id, timer.fire_at)
    )


def postponed(timer: Timer, due_at: int) -> Write:
    """Tries a timer whose handling failed again later (real time), keeping its place on the merchant's clock."""
    return Write(
        "UPDATE timers SET due_at = ? WHERE kind = ? AND ref_id = ? AND fire_at = ?",
        (due_at, timer.kind, timer.ref_id, timer.fire_at),
    )


def resync(merchant_id: str) -> Write:
    """The merchant's test clock moved: its test timers' real due moments, computed afresh
    from the offset (absolute, not a difference, so that running it again mends any timer
    written meanwhile with the old offset)."""
    return Write(
        "UPDATE timers SET due_at = fire_at - COALESCE((SELECT clock_offset FROM merchants WHERE id = ?), 0)"
        " WHERE merchant_id = ? AND mode = 'test'",
        (merchant_id, merchant_id),
    )


async def due(store: Store, real_now: int, limit: int) -> list[Timer]:
    rows = await store.fetch_all(
        f"SELECT {_COLUMNS} FROM timers WHERE due_at <= ? ORDER BY due_at, kind, ref_id LIMIT ?", (real_now, limit)
    )
    return [Timer(*row) for row in rows]


async def first_due_for(store: Store, scope: tuple[str, str], now: int) -> Timer | None:
    """The earliest timer of one merchant and mode at or before `now` on its clock."""
    row = await store.fetch_one(
        f"SELECT {_COLUMNS} FROM timers WHERE merchant_id = ? AND mode = ? AND fire_at <= ?"
        " ORDER BY fire_at, kind, ref_id LIMIT 1",
        (*scope, now),
    )
    return None if row is None else Timer(*row)


async def next_due_at(store: Store) -> int | None:
    row = await store.fetch_one("SELECT MIN(due_at) FROM timers")
    return None if row is None or row[0] is None else int(row[0])


def erase(merchant_id: str, mode: str) -> list[Write]:
    return [Write("DELETE FROM timers WHERE merchant_id = ? AND mode = ?", (merchant_id, mode))]
