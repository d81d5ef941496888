"""Deadlines: konbini, bank transfer and Pay-easy payments (any open payment with a
`payment_deadline`) expire when it passes unpaid.

The payments service sets the timer when it creates such a payment; the scheduler calls
`expire_due` one second after the deadline, on the merchant's clock.
"""

from __future__ import annotations

from collections.abc import Callable

from komoju_server.domain import states
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.payments import DEADLINE_TIMER, Payments

__all__ = ["DEADLINE_TIMER", "Deadlines"]


# Told of every payment this process expires: (payment id, merchant id, mode, method type).
OnExpired = Callable[[str, str, str, str], None]


def _ignore(payment_id: str, merchant_id: str, mode: str, method_type: str) -> None:
    pass


class Deadlines:
    def __init__(self, payments: Payments, on_expired: OnExpired = _ignore) -> None:
        self._payments = payments
        self._on_expired = on_expired

    async def expire_due(self, caller: Caller, payment_id: str, at: int) -> int | None:
        """The scheduler's handler: expires the payment if it is still unpaid past its deadline.
        Returns when to look again (never, once it is paid, cancelled or expired)."""
        try:
            payment = await self._payments.expire(caller, payment_id, at)
        except ApiError as error:
            if error.code == "not_found":  # erased by a sandbox reset
                return None
            raise
        if payment.status == "expired":
            self._on_expired(payment.id, caller.merchant_id, caller.mode, payment.method_type)
        if states.allowed("expire", payment.status) and payment.payment_deadline is not None:
            return payment.payment_deadline + 1  # not due yet (cannot happen with a true timer)
        return None
