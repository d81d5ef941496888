"""The retrying-change helper: a lost race starts over, anything else goes to the caller, and
changes to one object in one process take turns."""

from __future__ import annotations

import asyncio

import pytest

from komoju_server.domain.errors import ApiError
from komoju_server.services.changes import MAX_ATTEMPTS, change
from komoju_server.services.locks import BUSY_MESSAGE, KeyedLocks
from komoju_server.store import Conflict, Write

UPDATE = Write("UPDATE things SET version = version + 1 WHERE id = ? AND version = ?", expect=1, label="update thing")
USE_TOKEN = Write("UPDATE tokens SET used_at = ?", expect=1, label="use token")


def lost(write: Write = UPDATE) -> Conflict:
    return Conflict(write, 0)


def test_the_first_attempt_that_commits_is_the_answer():
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise lost()
        return "changed"

    assert asyncio.run(change(KeyedLocks(), "obj1", attempt, ("update thing",))) == "changed"
    assert len(calls) == 3


def test_a_conflict_of_another_statement_goes_to_the_caller_at_once():
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise lost(USE_TOKEN)

    with pytest.raises(Conflict) as caught:
        asyncio.run(change(KeyedLocks(), "obj1", attempt, ("update thing",)))
    assert caught.value.write is USE_TOKEN
    assert len(calls) == 1


def test_an_api_error_goes_to_the_caller_at_once():
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise ApiError("not_refundable")

    with pytest.raises(ApiError) as caught:
        asyncio.run(change(KeyedLocks(), "obj1", attempt, ("update thing",)))
    assert caught.value.code == "not_refundable"
    assert len(calls) == 1


def test_losing_every_race_answers_busy_after_the_attempts():
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise lost()

    with pytest.raises(ApiError) as caught:
        asyncio.run(change(KeyedLocks(), "obj1", attempt, ("update thing",)))
    assert (caught.value.code, caught.value.status, caught.value.message) == ("conflict", 409, BUSY_MESSAGE)
    assert len(calls) == MAX_ATTEMPTS


def test_the_number_of_attempts_can_be_given():
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise lost()

    with pytest.raises(ApiError):
        asyncio.run(change(KeyedLocks(), "obj1", attempt, ("update thing",), attempts=2))
    assert len(calls) == 2


def test_changes_to_one_object_take_turns_and_others_do_not_wait():
    """Two changes of one key never overlap; a change of another key runs meanwhile."""

    async def main() -> list[str]:
        locks = KeyedLocks()
        log: list[str] = []
        first_inside = asyncio.Event()
        release_first = asyncio.Event()

        async def first() -> None:
            log.append("first in")
            first_inside.set()
            await release_first.wait()
            log.append("first out")

        async def second() -> None:
            log.append("second in")

        async def other() -> None:
            log.append("other in")

        one = asyncio.create_task(change(locks, "a", first, ()))
        await first_inside.wait()
        two = asyncio.create_task(change(locks, "a", second, ()))
        await change(locks, "b", other, ())
        await asyncio.sleep(0)
        release_first.set()
        await asyncio.gather(one, two)
        return log

    assert asyncio.run(main()) == ["first in", "other in", "first out", "second in"]
