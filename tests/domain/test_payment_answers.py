"""A payment answered in two API versions: when the answers are alike, one can stand for both."""

from __future__ import annotations

import itertools

import pytest

from komoju_server.domain import versions
from komoju_server.domain.payment import Payment

EVERY_VERSION = (*versions.VERSIONS, versions.EVENTS)


def _payment(**changes: object) -> Payment:
    given = {"status": "captured", "amount": 1000, "tax": 100, **changes}
    return Payment("p1", "m1", "test", "credit_card", currency="JPY", created_at=1_700_000_000, details={}, **given)


PAYMENTS = {
    "pending": _payment(status="pending"),
    "captured": _payment(captured_at=1_700_000_100),
    "partly captured": _payment(
        amount=600, tax=60, captured_at=1_700_000_100, authorized={"amount": 1000, "tax": 100, "refund_id": "r1"}
    ),
}


@pytest.mark.parametrize("name", PAYMENTS)
@pytest.mark.parametrize(("one", "other"), list(itertools.product(EVERY_VERSION, repeat=2)))
def test_answers_alike_says_whether_the_two_answers_are_equal(
    name: str, one: versions.ApiVersion, other: versions.ApiVersion
) -> None:
    payment = PAYMENTS[name]
    assert payment.answers_alike(one, other) == (payment.to_api(one) == payment.to_api(other))


def test_a_new_payment_answers_requests_of_the_default_version_as_its_events():
    assert PAYMENTS["captured"].answers_alike(versions.DEFAULT, versions.EVENTS)
    assert not PAYMENTS["captured"].answers_alike(versions.LATEST, versions.EVENTS)  # 2025-01-28 has captures
    assert not PAYMENTS["partly captured"].answers_alike(versions.DEFAULT, versions.EVENTS)
