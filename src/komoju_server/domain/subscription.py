"""The subscription resource: a customer charged the same amount every week, month or year.

Charge times are counted from the first charge (the `anchor`) on the Japanese calendar, so
a monthly subscription started on January 31st charges on February 28th (or 29th), March
31st, April 30th, ... and never drifts. A charge that fails is retried (`RETRY_DELAYS`);
when the last retry fails too, the subscription is suspended and charges no more. A
deleted subscription also charges no more. Neither can be changed back: KOMOJU's
subscriptions are never modified, only deleted and made anew.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from komoju_server.domain.clock import JST, iso
from komoju_server.domain.documents import Document

PERIODS = ("weekly", "monthly", "yearly")
# After a failed charge, the next attempt comes this many seconds later; when every retry
# has failed the subscription is suspended.
RETRY_DELAYS: tuple[int, ...] = (86_400, 86_400, 86_400)

ACTIVE = "active"  # charging on schedule
RETRYING = "retrying"  # the last charge failed and will be tried again at retry_at
SUSPENDED = "suspended"  # every retry failed: no more charges
DELETED = "deleted"  # deleted by the merchant: no more charges
STATUSES = (ACTIVE, RETRYING, SUSPENDED, DELETED)


def charge_time(anchor: int, period: str, cycle: int) -> int:
    """When charge number `cycle` (0 is the first, at `anchor`) falls due."""
    if period == "weekly":
        return anchor + cycle * 7 * 86_400
    start = dt.datetime.fromtimestamp(anchor, JST)
    months = cycle * (12 if period == "yearly" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def charge_day(anchor: int, period: str) -> int:
    """The day a subscription charges on: ISO weekday (1 is Monday) for weekly ones, else the
    day of the month (Japan time)."""
    start = dt.datetime.fromtimestamp(anchor, JST)
    return start.isoweekday() if period == "weekly" else start.day


def subscription_details(shown: dict[str, Any]) -> dict[str, Any]:
    """A charge's card as KOMOJU shows it on the subscription (its reference's example and
    current schema, Subscription_payment_details): expiry month and year as strings ("01",
    "2025"), beside the type and email; the brand and last four digits (the payment's) are
    kept too, to tell which card was charged without revealing it."""
    details = dict(shown)
    if isinstance(details.get("month"), int):
        details["month"] = f"{details['month']:02d}"
    if isinstance(details.get("year"), int):
        details["year"] = str(details["year"])
    return details


@dataclass(slots=True)
class Subscription:
    id: str
    merchant_id: str
    mode: str
    status: str
    amount: int
    currency: str
    period: str
    customer: str
    created_at: int
    anchor: int  # the first charge
    cycle: int  # the regular charge due next (or being retried)
    payment_details: dict[str, Any]  # as the last charge showed them
    metadata: dict[str, Any] = field(default_factory=dict)
    retry_count: int = 0  # retries made of the charge due
    retry_at: int | None = None
    ended_at: int | None = None
    payments: list[str] = field(default_factory=list)  # ids of the payments made, oldest first
    # The customer as it was when the subscription was made, in the shape KOMOJU answers it
    # (`Customer.as_embedded`); None in subscriptions stored before it was kept.
    customer_record: dict[str, Any] | None = None
    version: int = 0

    @property
    def charging(self) -> bool:
        return self.status in (ACTIVE, RETRYING)

    @property
    def next_capture_at(self) -> int | None:
        """The next regular charge (after the one being retried, while retrying)."""
        if not self.charging:
            return None
        return charge_time(self.anchor, self.period, self.cycle + (1 if self.status == RETRYING else 0))

    @property
    def due_at(self) -> int | None:
        """When this subscription next needs the scheduler: its next charge or retry."""
        if self.status == ACTIVE:
            return charge_time(self.anchor, self.period, self.cycle)
        return self.retry_at if self.status == RETRYING else None

    # -- what happens to it ------------------------------------------------------------------

    def charged(self, payment_id: str, details: dict[str, Any]) -> None:
        """The charge due was captured: on to the next period."""
        self.status = ACTIVE
        self.cycle += 1
        self.retry_count = 0
        self.retry_at = None
        self.payment_details = subscription_details(details)
        self.payments = [*self.payments, payment_id]

    def failed(self, at: int) -> bool:
        """The charge due failed at `at`: retry later, or give up. True when suspended."""
        attempts = 0 if self.status == ACTIVE else self.retry_count + 1
        if attempts < len(RETRY_DELAYS):
            self.status = RETRYING
            self.retry_count = attempts
            self.retry_at = at + RETRY_DELAYS[attempts]
            return False
        self.status = SUSPENDED
        self.retry_count = attempts
        self.retry_at = None
        self.ended_at = at
        return True

    def deleted(self, at: int) -> None:
        self.status = DELETED
        self.retry_at = None
        if self.ended_at is None:
            self.ended_at = at

    # -- rendering -------------------------------------------------------------------------------

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "subscription",
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            # KOMOJU answers the customer's record here, not its id (the reference's example
            # and its current schema, Subscription_customer); `uuid` is the id.
            "customer": self.customer_record or {"id": self.customer, "uuid": self.customer},
            "period": self.period,
            "day": charge_day(self.anchor, self.period),
            "payment_details": self.payment_details,
            "retry_count": self.retry_count,
            "retry_at": iso(self.retry_at),
            "next_capture_at": iso(self.next_capture_at),
            "created_at": iso(self.created_at),
            "ended_at": iso(self.ended_at),
            "metadata": self.metadata,
            "payments": self.payments,
        }

    def to_doc(self) -> str:
        return _DOCUMENT.dumps(self)

    @classmethod
    def from_doc(cls, doc: str | bytes, version: int) -> Subscription:
        return _DOCUMENT.loads(doc, version)


_DOCUMENT = Document(Subscription)
