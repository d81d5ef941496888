"""The retry schedule: exponential backoff with jitter, about a day in all, configurable."""

from __future__ import annotations

import pytest

from komoju_server.webhooks.schedule import DEFAULT, Schedule


def test_default_doubles_from_one_minute_capped_at_eight_hours():
    assert DEFAULT.delays == (60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 28800, 28800)
    assert DEFAULT.attempts == 12
    assert DEFAULT.jitter == 0.2


def test_default_spans_about_a_day():
    assert DEFAULT.total_seconds == 88_260  # 24h31m
    # Whatever the jitter draws, the last attempt comes between 19 and 30 hours after the first.
    assert DEFAULT.total_seconds * 0.8 > 19 * 3600
    assert DEFAULT.total_seconds * 1.2 < 30 * 3600


def test_next_delay_follows_the_schedule_and_gives_up_after_the_last_wait():
    plan = Schedule((1.0, 2.0, 4.0), jitter=0)
    assert [plan.next_delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, None]
    assert plan.next_delay(0) is None


def test_jitter_stays_within_its_fraction():
    plan = Schedule((100.0,), jitter=0.2)
    assert plan.next_delay(1, rand=lambda: 0.0) == pytest.approx(80.0)
    assert plan.next_delay(1, rand=lambda: 0.5) == pytest.approx(100.0)
    assert plan.next_delay(1, rand=lambda: 0.999999) == pytest.approx(120.0, abs=1e-3)


def test_jitter_spreads_the_waits():
    draws = {round(DEFAULT.next_delay(1), 6) for _ in range(50)}
    assert len(draws) > 40
    assert all(48 <= d <= 72 for d in draws)


def test_exponential_builder():
    assert Schedule.exponential(first=1, factor=3, cap=10, retries=4, jitter=0).delays == (1, 3, 9, 10)


@pytest.mark.parametrize(
    ("text", "delays"),
    [
        ("30s,2m,10m,1h", (30.0, 120.0, 600.0, 3600.0)),
        ("500ms, 1.5s ,2", (0.5, 1.5, 2.0)),
        ("none", ()),
        ("NONE", ()),
        ("1H,1M", (3600.0, 60.0)),
    ],
)
def test_parse(text, delays):
    assert Schedule.parse(text, jitter=0).delays == delays


@pytest.mark.parametrize("text", ["", "1d", "-1s", "1s,,2s", "fast", "1 s", "s"])
def test_parse_refuses_what_is_not_a_list_of_durations(text):
    with pytest.raises(ValueError):
        Schedule.parse(text)


def test_a_schedule_refuses_bad_jitter_and_endless_lists():
    with pytest.raises(ValueError):
        Schedule((1.0,), jitter=1.0)
    with pytest.raises(ValueError):
        Schedule((1.0,), jitter=-0.1)
    with pytest.raises(ValueError):
        Schedule((1.0,) * 101)


def test_describe_writes_what_parse_reads():
    assert DEFAULT.describe() == "1m,2m,4m,8m,16m,32m,64m,128m,256m,8h,8h"
    assert Schedule.parse(DEFAULT.describe()).delays == DEFAULT.delays
    assert Schedule.parse("250ms,90s").describe() == "250ms,90s"
    assert Schedule(()).describe() == "none"
