"""Idempotency keys (`X-KOMOJU-IDEMPOTENCY`): what a valid key is, and what a repeat gets.

A POST carrying a key is claimed under (merchant, mode, key) before any work is done. A
later request with the same key is judged against what the first one left behind:

- the same request (method, path and body digest) whose answer is stored gets that answer;
- the same request still running, within its lease, gets 409 (try again later);
- a different request gets 422: a key names one request only;
- a key older than `RETENTION` on the merchant's clock, or a claim whose lease ran out
  (its server died mid-request), is taken over and the request runs afresh.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

from komoju_server.domain.errors import ApiError, invalid

HEADER = "X-KOMOJU-IDEMPOTENCY"
MAX_LENGTH = 100
RETENTION = 24 * 3600  # seconds a key is kept, on the merchant's clock
LEASE = 60  # real seconds a running claim is honoured before another request may take it over

MISMATCH_MESSAGE = (
    "This X-KOMOJU-IDEMPOTENCY key was already used for a different request in the last 24 hours; "
    "send a new key for a new request."
)


def check_key(value: str) -> str:
    """The key as given, if it is 1..100 printable ASCII characters; else 422 invalid_parameter."""
    if not value or len(value) > MAX_LENGTH or not all(" " <= char <= "~" for char in value):
        raise invalid(HEADER)
    return value


def fingerprint(key: bytes, method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": method, path with query string, and the exact body.

    Keyed (HMAC-SHA256): a body can hold a card number and CVV, and a plain hash of it, kept
    beside the stored answer, could be reversed by trying the few numbers that fit."""
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    digest.update(body)
    return digest.hexdigest()


def conflict() -> ApiError:
    return ApiError("conflict", HEADER)


def mismatch() -> ApiError:
    return ApiError("unprocessable_entity", HEADER, message=MISMATCH_MESSAGE)


@dataclass(frozen=True)
class Claim:
    """A stored key: who holds it, for which request, and the answer once there is one."""

    owner: str
    fingerprint: str
    created_at: int  # merchant's clock
    lease_until: int | None  # real time; None once the answer is stored
    status: int | None
    body: bytes | None

    @property
    def answered(self) -> bool:
        return self.status is not None


class Verdict(Enum):
    REPLAY = "replay"  # give the stored answer back
    IN_FLIGHT = "in_flight"  # 409
    MISMATCH = "mismatch"  # 422
    TAKE_OVER = "take_over"  # claim the key afresh and run the request


def judge(claim: Claim, fingerprint_: str, now: int, real_now: int) -> Verdict:
    if claim.created_at + RETENTION <= now:
        return Verdict.TAKE_OVER
    if claim.fingerprint != fingerprint_:
        return Verdict.MISMATCH
    if claim.answered:
        return Verdict.REPLAY
    if claim.lease_until is not None and claim.lease_until > real_now:
        return Verdict.IN_FLIGHT
    return Verdict.TAKE_OVER


def keeps(status: int) -> bool:
    """Whether an answer is final and replayed. A 5xx (a card decline, an upstream failure, a
    fault of ours) or a 409 tells the client to try again, so the key is freed for that retry."""
    return status < 500 and status != 409
