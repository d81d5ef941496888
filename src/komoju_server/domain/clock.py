"""Time as KOMOJU writes it: UTC, second precision, YYYY-MM-DDTHH:MM:SSZ; deadlines in Japan time."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache

UTC = dt.UTC
JST = dt.timezone(dt.timedelta(hours=9))
_JST_OFFSET = 9 * 3600
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> int:
    """The real time, in whole seconds since the epoch."""
    return int(time.time())


def now_ms() -> int:
    """The real time, in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return _iso(seconds)


@lru_cache(maxsize=4096)  # a busy server formats the same few seconds over and over
def _iso(seconds: int) -> str:
    return time.strftime(_FORMAT, time.gmtime(seconds))


def parse_iso(text: str) -> int:
    """Accepts ISO 8601 with a zone (Z or +09:00) or a bare date; raises ValueError otherwise."""
    text = text.strip()
    if len(text) == 10:
        value = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    else:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def end_of_jst_day(seconds: int, days_later: int) -> int:
    """23:59:59 Japan time, `days_later` days after the Japanese calendar day of `seconds`."""
    # Japan keeps no daylight saving time: a Japanese day is a fixed 86,400-second span.
    jst_day = (seconds + _JST_OFFSET) // 86_400
    return (jst_day + days_later + 1) * 86_400 - _JST_OFFSET - 1


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds on when objects were created (a list's `start_time` / `end_time`)."""

    start: int | None = None
    end: int | None = None
