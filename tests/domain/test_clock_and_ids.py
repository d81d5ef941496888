"""Time formatting, Japanese deadlines and identifiers."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from komoju_server.domain import clock, ids

JST = dt.timezone(dt.timedelta(hours=9))


def _end_of_jst_day_by_calendar(seconds: int, days: int) -> int:
    day = dt.datetime.fromtimestamp(seconds, JST).date() + dt.timedelta(days=days)
    return int(dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST).timestamp())


@pytest.mark.parametrize(
    ("created", "days", "deadline"),
    [
        ("2020-06-09T07:42:04Z", 3, "2020-06-12T14:59:59Z"),  # the document's konbini example
        ("2020-06-09T07:42:11Z", 10, "2020-06-19T14:59:59Z"),  # its Pay-easy example
        ("2020-06-09T14:59:59Z", 0, "2020-06-09T14:59:59Z"),  # the last second of a Japanese day
        ("2020-06-09T15:00:00Z", 0, "2020-06-10T14:59:59Z"),  # the first second of the next
        ("2024-02-28T16:00:00Z", 1, "2024-03-01T14:59:59Z"),  # across a leap day
        ("2025-12-31T15:30:00Z", 59, "2026-03-01T14:59:59Z"),
    ],
)
def test_deadlines_fall_at_the_end_of_the_japanese_day(created: str, days: int, deadline: str):
    assert clock.iso(clock.end_of_jst_day(clock.parse_iso(created), days)) == deadline


def test_deadline_arithmetic_agrees_with_the_calendar_over_decades():
    for seconds in range(0, 4_000_000_000, 7_654_321):
        for days in (0, 1, 3, 14, 59):
            assert clock.end_of_jst_day(seconds, days) == _end_of_jst_day_by_calendar(seconds, days)


def test_times_are_utc_to_the_second():
    assert clock.iso(0) == "1970-01-01T00:00:00Z"
    assert clock.iso(1591688524) == "2020-06-09T07:42:04Z"
    assert clock.iso(None) is None
    assert clock.parse_iso("2020-06-09T16:42:04+09:00") == 1591688524
    assert clock.parse_iso("2020-06-09") == 1591660800


def test_ids_are_25_lowercase_letters_and_digits_and_do_not_repeat():
    made = {ids.new_id() for _ in range(5000)}
    assert len(made) == 5000
    assert all(re.fullmatch(r"[a-z0-9]{25}", i) for i in made)
    assert re.fullmatch(r"tok_[a-z0-9]{25}", ids.new_token_id())


def test_every_id_character_is_used():
    assert set("".join(ids.new_id() for _ in range(2000))) == set("0123456789abcdefghijklmnopqrstuvwxyz")


def test_a_forked_child_makes_other_ids_than_its_parent():
    import os

    ids.new_id()  # the pool now holds bytes the parent will use next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, ",".join(ids.new_id() for _ in range(50)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = set(os.read(read, 1 << 16).decode().split(","))
    parent = {ids.new_id() for _ in range(50)}
    assert len(child) == 50 and not child & parent


def test_ids_made_later_sort_after_earlier_ones_by_their_time_part():
    import time

    first = ids.new_id()
    time.sleep(0.002)
    second = ids.new_id()
    assert first[: ids.TIME_DIGITS] < second[: ids.TIME_DIGITS]


def test_api_keys_are_all_random():
    keys = [ids.random_key("sk_test_") for _ in range(200)]
    assert all(re.fullmatch(r"sk_test_[a-z0-9]{32}", k) for k in keys)
    # no shared leading characters, unlike ids, which start with the time
    assert len({k[8:12] for k in keys}) > 190
