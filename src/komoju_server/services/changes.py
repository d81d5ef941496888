"""Changing one stored object safely: read, decide, write if unchanged, and start over when
another request got there first.

Every change to an existing object is a unit of work whose main statement is conditional on
the version that was read (`UPDATE ... WHERE id = ? AND version = ?`, `expect=1`). When a
concurrent change commits first, that statement touches no row, the whole unit rolls back
and the store raises `Conflict` naming it: the change is then tried again from a fresh read.
Within one process, changes to one object first queue on a per-object lock (see
`services.locks`), so only changes from other processes ever race.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from komoju_server.domain.errors import ApiError
from komoju_server.services import answers
from komoju_server.services.locks import BUSY_MESSAGE, KeyedLocks
from komoju_server.store import Conflict

# How often a change is tried before answering 409: only changes from other processes can
# make it lose, and eight losses in a row means the object is hot beyond reason.
MAX_ATTEMPTS = 8

Result = TypeVar("Result")


async def change(
    locks: KeyedLocks,
    key: str,
    attempt: Callable[[], Awaitable[Result]],
    retry_on: Collection[str],
    attempts: int = MAX_ATTEMPTS,
) -> Result:
    """Runs `attempt` (read, decide, write one unit) under `locks.hold(key)` until it returns.

    A `Conflict` whose statement's label is in `retry_on` means the object changed since it
    was read: the attempt starts over. Any other exception, other conflicts included, goes to
    the caller. After `attempts` lost races: `ApiError("conflict")` with `BUSY_MESSAGE`.
    """
    async with locks.hold(key):
        for _ in range(attempts):
            # An answer handed to the unit of a lost attempt never committed (services.answers).
            answers.withdraw()
            try:
                return await attempt()
            except Conflict as conflict:
                if conflict.write.label in retry_on:
                    continue
                raise
    answers.withdraw()
    raise ApiError("conflict", message=BUSY_MESSAGE)
