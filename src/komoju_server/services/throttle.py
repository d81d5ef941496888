"""Rate limits, quotas and failed-authentication limits: token buckets, in memory, per process.

- `--rate-limit N/s` (and `--rate-limit-burst B`): each API key may make B requests at once,
  then N per second (a bucket of B tokens refilled at N per second). Off by default.
- `--quota N/d`: each API key may make N requests per day (a bucket of N tokens refilled
  over the day: a sliding quota, not a calendar one). Off by default.
- `--auth-failure-limit N/m`: a client address that failed authentication N times (refilled
  over the minute) gets 429 for every request that needs a key, right or wrong, until its
  bucket refills. Dashboard sign-ins count too. On by default at 600/m, far above what a test suite's 401 tests reach.
  IPv6 addresses count by /64 (one host usually has a whole /64). The address is the
  connection's peer: behind a proxy, that is the proxy (no `X-Forwarded-For`, which any
  client can write).

Over a limit, the answer is 429 `too_many_requests` in KOMOJU's envelope with `Retry-After`
(whole seconds until a token is back). KOMOJU publishes no code for it: the code is this
server's addition (domain/errors.py). Everything is per process: with `--workers N` or several
hosts, a key gets N times the rate; the README says so.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from komoju_server.config import Settings
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError

UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*([smhd])\s*$")
OFF = ("", "0", "none", "off")
MAX_KEYS = 100_000  # buckets kept per limit; beyond, full ones (and then the oldest) are dropped


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str, flag: str) -> Rate | None:
        """`N/s`, `N/m`, `N/h` or `N/d`; None for off (`none`, `off`, `0`). ValueError says what is wrong."""
        if text.strip().lower() in OFF:
            return None
        match = _RATE.match(text)
        if match is None or int(match.group(1)) == 0:
            raise ValueError(f"{flag} must look like 50/s, 3000/m, 100000/h or 1000000/d (or none), not {text!r}")
        return cls(int(match.group(1)), UNITS[match.group(2)])

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


class Buckets:
    """Token buckets by key: `capacity` tokens each, refilled at `refill` tokens per second."""

    def __init__(self, capacity: float, refill: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._capacity = capacity
        self._refill = refill
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - at) * self._refill)

    def __bool__(self) -> bool:
        """Whether any key has taken a token lately (a bucket of none is full)."""
        return bool(self._buckets)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token (0: it has one now). Takes nothing; forgets a
        bucket that is full again (the same as none), so the buckets shrink as keys recover."""
        if key not in self._buckets:
            return 0.0
        tokens = self._tokens(key, self._monotonic())
        if tokens >= self._capacity:
            del self._buckets[key]
        return 0.0 if tokens >= 1 else (1 - tokens) / self._refill

    def take(self, key: str) -> float:
        """Takes a token and answers 0, or answers the seconds until there is one (taking none)."""
        now = self._monotonic()
        tokens = self._tokens(key, now)
        if tokens < 1:
            return (1 - tokens) / self._refill
        if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
            self._prune(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k in self._buckets if self._tokens(k, now) >= self._capacity]:
            del self._buckets[key]
        while len(self._buckets) >= MAX_KEYS:  # all busy: forget the oldest (a little leniency)
            del self._buckets[next(iter(self._buckets))]


@dataclass(frozen=True)
class Limits:
    rate: Rate | None = None
    burst: int | None = None
    quota: Rate | None = None
    auth_failures: Rate | None = None


def limits_from(settings: Settings) -> Limits:
    """The limits the settings ask for; ValueError says what is wrong."""
    if settings.rate_limit_burst is not None and settings.rate_limit_burst < 1:
        raise ValueError("--rate-limit-burst must be at least 1")
    return Limits(
        Rate.parse(settings.rate_limit or "none", "--rate-limit"),
        settings.rate_limit_burst,
        Rate.parse(settings.quota or "none", "--quota"),
        Rate.parse(settings.auth_failure_limit or "none", "--auth-failure-limit"),
    )


class Throttled(ApiError):
    """429 too_many_requests, with the seconds after which to try again."""

    def __init__(self, wait: float) -> None:
        super().__init__("too_many_requests")
        self.retry_after = max(1, math.ceil(wait))


class Throttle:
    OFF = Limits()

    def __init__(self, limits: Limits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._rate = self._quota = self._failures = None
        if limits.rate is not None:
            burst = limits.burst if limits.burst is not None else max(1, math.ceil(limits.rate.per_second))
            self._rate = Buckets(burst, limits.rate.per_second, monotonic)
        if limits.quota is not None:
            self._quota = Buckets(limits.quota.count, limits.quota.per_second, monotonic)
        if limits.auth_failures is not None:
            self._failures = Buckets(limits.auth_failures.count, limits.auth_failures.per_second, monotonic)

    def check_address(self, address: str | None) -> None:
        """Raises Throttled while this client address has used up its failed authentications."""
        # The common case, no failure since start, costs one truth test per request.
        if self._failures and address:
            wait = self._failures.wait(client_key(address))
            if wait > 0:
                raise Throttled(wait)

    def failed(self, address: str | None) -> None:
        """A failed authentication from this address."""
        if self._failures is not None and address:
            self._failures.take(client_key(address))

    def admit(self, caller: Caller) -> None:
        """Takes one request from the key's rate limit and quota, or raises Throttled."""
        if self._rate is None and self._quota is None:  # the default: no limits, nothing to count
            return
        key = f"{caller.merchant_id}:{caller.mode}:{caller.key_kind}"  # one key per merchant, mode, kind
        if self._rate is not None:
            wait = self._rate.take(key)
            if wait > 0:
                raise Throttled(wait)
        if self._quota is not None:
            wait = self._quota.take(key)
            if wait > 0:
                raise Throttled(wait)


@functools.lru_cache(maxsize=4096)
def client_key(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address by its /64."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return str(parsed.ipv4_mapped) if isinstance(parsed, ipaddress.IPv6Address) else str(parsed)
