"""Receivers that are down: not knocked on again and again.

A receiver that refuses connections, cannot be reached or does not answer in time costs a
real attempt (a connection, a timeout held for seconds) per delivery; during an outage every
new event and every retry would pay it again. So each process remembers, per origin (scheme,
host and port), the last failure to reach it:

- for `hold` seconds after it, deliveries to that origin are not sent: the attempt is
  recorded as failed ("not sent: ...", no response code) and retried on its schedule like
  any failure, so the schedule and its end are the same as if it had been sent;
- after that, one delivery goes as a probe while the others keep failing at once; the
  probe's outcome closes the breaker (any HTTP answer, even an error status: the receiver is
  up) or holds it again.

An HTTP answer never opens the breaker: a receiver that answers 500 is up and gets every
attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

HOLD_SECONDS = 1.0
MAX_ORIGINS = 10_000


@dataclass
class _Down:
    since: float
    until: float
    reason: str
    probing: bool = False


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class Breakers:
    def __init__(self, hold: float = HOLD_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._hold = hold
        self._clock = clock
        self._down: dict[str, _Down] = {}

    def refusal(self, key: str) -> str | None:
        """Why a delivery to `key` is not to be sent now, or None: send it (a probe, maybe)."""
        down = self._down.get(key)
        if down is None:
            return None
        now = self._clock()
        age = f"{now - down.since:.1f} s ago"
        if now < down.until:
            return f"not sent: {down.reason} ({age})"
        if down.probing:
            return f"not sent: {down.reason} ({age}); another attempt is finding out whether it is back"
        down.probing = True
        return None

    def unreachable(self, key: str, reason: str) -> None:
        now = self._clock()
        if key not in self._down and len(self._down) >= MAX_ORIGINS:
            self._down.pop(next(iter(self._down)))
        self._down[key] = _Down(now, now + self._hold, reason)

    def answered(self, key: str) -> None:
        self._down.pop(key, None)
