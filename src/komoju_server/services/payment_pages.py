"""What the customer's pages about one payment (instructions, offsite) read and do.

A page has no API key: the payment's 25-character id in its URL is its key, so a payment is
found by its id alone (`Payments.find`). Reading works for either mode (a live processor may
send its customers to our instructions page); every change is a sandbox control
(`services/sandbox.py`, the same calls as `POST /api/v1/sandbox/payments/:id/...`), made for a
payment found among test payments only, so a live payment is never found for one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.methods import Family, Method, method_of
from komoju_server.services.payments import Payments
from komoju_server.services.sandbox import Sandbox
from komoju_server.store import Store
from komoju_server.store import merchants as merchants_table

Action = Literal["pay", "decline", "cancel"]
# What each of the customer's buttons does: the sandbox control it is.
CONTROLS: dict[Action, Callable[[Sandbox, Caller, str], Awaitable[Payment]]] = {
    "pay": Sandbox.complete,  # paid at the konbini / approved at the provider: captured
    "decline": Sandbox.fail,  # refused at the provider: failed
    "cancel": Sandbox.cancel,  # the customer gave up at the provider: cancelled
}
OPEN = ("pending", "authorized")  # still waiting for the customer


@dataclass(frozen=True)
class Facing:
    """A payment as its customer's page shows it."""

    payment: Payment
    method: Method
    merchant: str  # the merchant's name
    back_url: str | None  # where "back to the shop" leads

    @property
    def open(self) -> bool:
        return self.payment.status in OPEN

    @property
    def test_mode(self) -> bool:
        return self.payment.mode == "test"


def back_url(payment: Payment, action: Action | None = None) -> str | None:
    """Where the customer goes back to the merchant, after an offsite payment (`action`) or from
    the instructions page: THE one place that decides it.

    The payment's own `return_url` (given at creation, or as payment_details[return_url]), with
    nothing added: KOMOJU documents no query parameters for a payment made directly. After a
    cancel, its `cancel_url` when it has one. A payment made through a session goes back to the
    session's return_url with `session_id=ID` appended, as KOMOJU's hosted page does: paying a
    session stores exactly that as the payment's return_url (services/sessions.py), so it is
    the same rule; should that ever change, look the session up here (`payment.session`).
    """
    if action == "cancel" and payment.cancel_url:
        return payment.cancel_url
    return payment.return_url


class PaymentPages:
    def __init__(self, store: Store, payments: Payments, sandbox: Sandbox) -> None:
        self._store = store
        self._payments = payments
        self._sandbox = sandbox

    async def show(self, payment_id: str, family: Family, live: bool = False) -> Facing:
        """The payment, if it is one of `family`'s (another method's has no such page);
        `live=False` finds test payments only."""
        payment = await self._payments.find(payment_id, None if live else "test")
        return await self._facing(payment, family)

    async def act(self, payment_id: str, family: Family, action: Action) -> Facing:
        """The customer's button: the sandbox control it stands for, on a test payment of `family`."""
        payment = await self._payments.find(payment_id, "test")
        await self._facing(payment, family)  # a payment of another family is not found
        owner = Caller(payment.merchant_id, "test", "secret")
        changed = await CONTROLS[action](self._sandbox, owner, payment.id)
        return await self._facing(changed, family, action)

    async def _facing(self, payment: Payment, family: Family, action: Action | None = None) -> Facing:
        method = method_of({"type": payment.method_type})
        if method.family is not family:
            raise ApiError("not_found")
        name = await merchants_table.name(self._store, payment.merchant_id)
        return Facing(payment, method, name or "", back_url(payment, action))
