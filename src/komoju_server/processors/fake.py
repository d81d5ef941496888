"""A fake processor for tests: it keeps payments in memory, honours idempotency keys like a
real processor, counts every effect, and can be told to decline, to be unreachable, or to do
the work and lose the answer (the case that leaves an intent pending for recovery)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from komoju_server.domain import ids
from komoju_server.domain.errors import ApiError
from komoju_server.processors.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
    TopUpRequest,
    Unanswered,
)

Result = PaymentResult | RefundResult


@dataclass
class Trouble:
    """What the next call of one kind meets instead of an ordinary answer."""

    decline: str | None = None  # an error code: the processor refuses
    unreachable: bool = False  # nothing reaches it
    lose_answer: bool = False  # it does the work, but the answer never arrives


@dataclass
class FakeProcessor:
    name: str = "fake"
    remote: bool = True
    delay: float = 0.0  # seconds each call takes, to widen races
    payments: dict[str, PaymentResult] = field(default_factory=dict)  # by reference
    effects: Counter[str] = field(default_factory=Counter)  # "refund <reference>", ... per effect done
    captured: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # partial: (amount, tax)
    calls: Counter[str] = field(default_factory=Counter)  # per kind, every call including replays
    _answers: dict[str, Result] = field(default_factory=dict)  # by idempotency key
    _troubles: dict[str, list[Trouble]] = field(default_factory=dict)

    def next(self, kind: str, trouble: Trouble) -> None:
        self._troubles.setdefault(kind, []).append(trouble)

    async def _call(self, kind: str, key: str, work: Any) -> Any:
        self.calls[kind] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        trouble = self._troubles.get(kind, []).pop(0) if self._troubles.get(kind) else Trouble()
        if trouble.unreachable:
            raise Unanswered("connection refused", sent=False)
        if trouble.decline:
            raise ApiError(trouble.decline)
        if key not in self._answers:  # a repeated key answers as the first time, doing nothing
            self._answers[key] = work()
        if trouble.lose_answer:
            raise Unanswered("timed out", sent=True)
        return self._answers[key]

    async def charge(self, request: ChargeRequest) -> PaymentResult:
        def work() -> PaymentResult:
            reference = "fake_" + ids.new_id()
            status = "captured" if request.capture else "authorized"
            result = PaymentResult(reference, status, {"brand": "visa", "last_four_digits": "1111"})
            self.payments[reference] = result
            self.effects[f"charge {request.payment_id}"] += 1
            return result

        return await self._call("charge", request.key, work)

    async def top_up(self, request: TopUpRequest) -> PaymentResult:
        def work() -> PaymentResult:
            self.effects[f"top_up {request.reference}"] += 1
            return self._move(request.reference, "captured")

        return await self._call("top_up", request.key, work)

    async def capture(self, request: CaptureRequest) -> PaymentResult:
        def work() -> PaymentResult:
            self.effects[f"capture {request.reference}"] += 1
            if request.partial:
                self.captured[request.reference] = (request.amount, request.tax)
            return self._move(request.reference, "captured")

        return await self._call("capture", request.key, work)

    async def refund(self, request: RefundRequest) -> RefundResult:
        def work() -> RefundResult:
            self.effects[f"refund {request.reference}"] += 1
            return RefundResult("fake_refund_" + ids.new_id(), request.amount)

        return await self._call("refund", request.key, work)

    async def cancel(self, request: CancelRequest) -> PaymentResult:
        def work() -> PaymentResult:
            self.effects[f"cancel {request.reference}"] += 1
            return self._move(request.reference, "cancelled")

        return await self._call("cancel", request.key, work)

    def _move(self, reference: str, status: str) -> PaymentResult:
        known = self.payments.get(reference) or PaymentResult(reference, "authorized")
        moved = PaymentResult(reference, status, known.details, known.payment_deadline)
        self.payments[reference] = moved
        return moved
