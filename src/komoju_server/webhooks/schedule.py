"""When a failed delivery is tried again: the retry schedule, as data.

A schedule is the list of waits between attempts: after the n-th failed attempt the
delivery waits `delays[n-1]` (stretched or shrunk by up to `jitter` of itself, at random,
so that a receiver coming back up is not hit by every delivery at the same instant), and
after the last one it is given up as `failed`.

The default is exponential backoff: one minute, doubling each time, capped at eight hours,
eleven retries (twelve attempts) spread over about a day:
    1m 2m 4m 8m 16m 32m 64m 128m 256m 8h 8h  (24h31m in all), jitter 20%.

On the command line (`serve --webhook-retry-schedule`, env KOMOJU_WEBHOOK_RETRY_SCHEDULE) a
schedule is written as its waits, comma-separated, each a number with an optional unit
(`ms`, `s`, `m`, `h`; seconds when bare): `30s,2m,10m,1h`. `none` means no retries.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|)$")
MAX_RETRIES = 100
DEFAULT_JITTER = 0.2


@dataclass(frozen=True, slots=True)
class Schedule:
    delays: tuple[float, ...]  # seconds to wait after each failed attempt
    jitter: float = DEFAULT_JITTER  # each wait is multiplied by a factor drawn from [1-jitter, 1+jitter]

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be at least 0 and less than 1")
        if len(self.delays) > MAX_RETRIES or any(d < 0 for d in self.delays):
            raise ValueError(f"a schedule has at most {MAX_RETRIES} waits, none negative")

    @property
    def attempts(self) -> int:
        """Attempts a delivery gets in all, the first included."""
        return len(self.delays) + 1

    @property
    def total_seconds(self) -> float:
        """From the first attempt to the last, jitter aside."""
        return sum(self.delays)

    def next_delay(self, failed_attempts: int, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after `failed_attempts` failures, or None when the delivery is given up."""
        if failed_attempts < 1 or failed_attempts > len(self.delays):
            return None
        base = self.delays[failed_attempts - 1]
        return base * (1 - self.jitter + 2 * self.jitter * rand())

    @classmethod
    def exponential(
        cls, first: float, factor: float, cap: float, retries: int, jitter: float = DEFAULT_JITTER
    ) -> Schedule:
        return cls(tuple(min(first * factor**n, cap) for n in range(retries)), jitter)

    @classmethod
    def parse(cls, text: str, jitter: float = DEFAULT_JITTER) -> Schedule:
        """`30s,2m,10m,1h` (or `none`) to a schedule; ValueError names what is wrong."""
        clean = text.strip().lower()
        if clean == "none":
            return cls((), jitter)
        delays = []
        for part in clean.split(","):
            match = _DURATION.match(part.strip())
            if not match:
                raise ValueError(f"not a duration: {part.strip()!r} (write e.g. 500ms, 30s, 2m or 1h)")
            delays.append(float(match.group(1)) * _UNITS[match.group(2)])
        return cls(tuple(delays), jitter)

    def describe(self) -> str:
        return ",".join(_format(d) for d in self.delays) or "none"


def _format(seconds: float) -> str:
    for unit in ("h", "m", "s"):
        value = seconds / _UNITS[unit]
        if value >= 1 and value == int(value):
            return f"{int(value)}{unit}"
    return f"{round(seconds * 1000)}ms"


DEFAULT = Schedule.exponential(first=60, factor=2, cap=8 * 3600, retries=11)
