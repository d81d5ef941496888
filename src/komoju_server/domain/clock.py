"""Time as KOMOJU writes it: UTC, second precision, YYYY-MM-DDTHH:MM:SSZ; deadlines in Japan time."""

from __future__ import annotations

import datetime as dt
import time

UTC = dt.UTC
JST = dt.timezone(dt.timedelta(hours=9))
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> int:
    """The real time, in whole seconds since the epoch."""
    return int(time.time())


def iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, UTC).strftime(_FORMAT)


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
    day = dt.datetime.fromtimestamp(seconds, JST).date() + dt.timedelta(days=days_later)
    return int(dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=JST).timestamp())
