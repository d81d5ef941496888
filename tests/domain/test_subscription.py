"""Subscriptions: charge times on the Japanese calendar, and what a charge or failure does."""

from __future__ import annotations

import datetime as dt

from komoju_server.domain.clock import JST
from komoju_server.domain.subscription import RETRY_DELAYS, Subscription, charge_day, charge_time


def at(*parts: int) -> int:
    return int(dt.datetime(*parts, tzinfo=JST).timestamp())


def jst(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, JST).replace(tzinfo=None)


def test_weekly_charges_come_every_seven_days():
    anchor = at(2024, 3, 1, 10, 30)
    assert [charge_time(anchor, "weekly", k) - anchor for k in range(3)] == [0, 7 * 86_400, 14 * 86_400]
    assert charge_day(anchor, "weekly") == 5  # a Friday


def test_monthly_charges_keep_the_day_and_clamp_to_short_months_without_drifting():
    anchor = at(2024, 1, 31, 23, 59, 59)  # a leap year
    months = [jst(charge_time(anchor, "monthly", k)) for k in range(6)]
    assert months == [
        dt.datetime(2024, 1, 31, 23, 59, 59),
        dt.datetime(2024, 2, 29, 23, 59, 59),
        dt.datetime(2024, 3, 31, 23, 59, 59),
        dt.datetime(2024, 4, 30, 23, 59, 59),
        dt.datetime(2024, 5, 31, 23, 59, 59),
        dt.datetime(2024, 6, 30, 23, 59, 59),
    ]
    assert jst(charge_time(anchor, "monthly", 12)) == dt.datetime(2025, 1, 31, 23, 59, 59)
    assert charge_day(anchor, "monthly") == 31


def test_monthly_charges_follow_the_japanese_calendar_not_utc():
    anchor = at(2024, 3, 1, 2, 0)  # still February 29th in UTC
    assert jst(charge_time(anchor, "monthly", 1)) == dt.datetime(2024, 4, 1, 2, 0)
    assert charge_day(anchor, "monthly") == 1


def test_yearly_charges_move_a_leap_day_to_february_28th():
    anchor = at(2024, 2, 29, 12, 0)
    assert [jst(charge_time(anchor, "yearly", k)) for k in range(1, 5)] == [
        dt.datetime(2025, 2, 28, 12, 0),
        dt.datetime(2026, 2, 28, 12, 0),
        dt.datetime(2027, 2, 28, 12, 0),
        dt.datetime(2028, 2, 29, 12, 0),
    ]


def subscription() -> Subscription:
    anchor = at(2024, 5, 10, 9, 0)
    return Subscription(
        id="s",
        merchant_id="m",
        mode="test",
        status="active",
        amount=100,
        currency="JPY",
        period="weekly",
        customer="c",
        created_at=anchor,
        anchor=anchor,
        cycle=1,
        payment_details={},
        payments=["p0"],
    )


def test_a_charge_moves_on_to_the_next_period():
    sub = subscription()
    assert sub.due_at == sub.next_capture_at == sub.anchor + 7 * 86_400
    sub.charged("p1", {"type": "credit_card"})
    assert (sub.status, sub.cycle, sub.payments) == ("active", 2, ["p0", "p1"])
    assert sub.due_at == sub.anchor + 14 * 86_400
    assert sub.payment_details == {"type": "credit_card"}


def test_failures_are_retried_then_suspend_the_subscription():
    sub = subscription()
    due = sub.due_at
    assert due is not None
    moment = due
    for retries in range(len(RETRY_DELAYS)):
        assert sub.failed(moment) is False
        assert (sub.status, sub.retry_count) == ("retrying", retries)
        assert sub.retry_at == moment + RETRY_DELAYS[retries]
        assert sub.due_at == sub.retry_at
        assert sub.next_capture_at == due + 7 * 86_400  # the next regular charge stays put
        moment = sub.retry_at
    assert sub.failed(moment) is True
    assert (sub.status, sub.retry_count, sub.retry_at, sub.ended_at) == ("suspended", 3, None, moment)
    assert sub.due_at is None and sub.next_capture_at is None


def test_a_successful_retry_resets_the_retries():
    sub = subscription()
    sub.failed(sub.anchor + 7 * 86_400)
    sub.charged("p1", {})
    assert (sub.status, sub.retry_count, sub.retry_at, sub.cycle) == ("active", 0, None, 2)


def test_deleting_ends_it_once():
    sub = subscription()
    sub.deleted(123)
    assert (sub.status, sub.ended_at, sub.due_at, sub.next_capture_at) == ("deleted", 123, None, None)
    sub.deleted(456)
    assert sub.ended_at == 123


def test_the_document_round_trips():
    sub = subscription()
    sub.failed(sub.anchor + 7 * 86_400)
    again = Subscription.from_doc(sub.to_doc(), 3)
    assert again.to_api() == sub.to_api() and again.version == 3
