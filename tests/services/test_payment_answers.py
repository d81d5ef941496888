"""Showing and listing payments through `PaymentAnswers`, on both databases: each answer is the
payment's `to_api` in the caller's version, a changed row is answered anew (whichever process
wrote it), and no more answers are kept than asked."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from komoju_server.domain import versions
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment, PaymentFilter
from komoju_server.services.payment_answers import PaymentAnswers
from komoju_server.store import Store
from komoju_server.store import payments as table
from tests.support import with_store

MERCHANT = "merchant1"
V2024 = versions.parse("2024-07-15")
V2025 = versions.parse("2025-01-28")
CALLER = Caller(MERCHANT, "test", "secret")
NEWER = Caller(MERCHANT, "test", "secret", V2025)
EVERYONE = PaymentFilter()


def payment(number: int, **changes: Any) -> Payment:
    fields: dict[str, Any] = {
        "id": f"pay{number:022d}",
        "merchant_id": MERCHANT,
        "mode": "test",
        "method_type": "credit_card",
        "status": "captured",
        "amount": 1000 * number,
        "tax": 100 * number,
        "currency": "JPY",
        "created_at": 1_700_000_000 + number,
        "details": {"type": "credit_card", "last_digits": "1111"},
        "captured_at": 1_700_000_000 + number,
    }
    return Payment(**{**fields, **changes})


def json_of(answer: orjson.Fragment) -> Any:
    return orjson.loads(orjson.dumps(answer))


async def insert(store: Store, *payments: Payment) -> None:
    for one in payments:
        await store.run(table.insert(one))


def test_each_answer_is_the_payments_own_in_the_callers_version(database_url):
    # Captured in part: the two versions answer it differently (tests/api/test_versions.py).
    partial = payment(2, amount=600, tax=60, authorized={"amount": 1000, "tax": 100, "refund_id": "ref" + "0" * 22})

    async def scenario(store: Store) -> None:
        await insert(store, payment(1), partial)
        answers = PaymentAnswers(store)
        for caller in (CALLER, NEWER, CALLER):  # the second time in a version, from what was kept
            shown = json_of(await answers.show(caller, partial.id))
            assert shown == partial.to_api(caller.api_version)
            total, page = await answers.page(caller, EVERYONE, 1, 10)
            assert total == 2
            assert [json_of(one) for one in page] == [
                partial.to_api(caller.api_version),
                payment(1).to_api(caller.api_version),
            ]
        assert json_of(await answers.show(CALLER, partial.id))["amount_refunded"] == 440
        assert json_of(await answers.show(NEWER, partial.id))["amount_refunded"] == 0

    with_store(database_url, scenario)


def test_a_payment_changed_since_it_was_answered_is_answered_anew(database_url):
    async def scenario(store: Store) -> None:
        first = payment(1, status="authorized", captured_at=None)
        await insert(store, first)
        answers = PaymentAnswers(store)
        assert json_of(await answers.show(CALLER, first.id))["status"] == "authorized"
        assert [json_of(one)["status"] for one in (await answers.page(CALLER, EVERYONE, 1, 10))[1]] == ["authorized"]
        # Captured by another process: only the database knows.
        seen = first.version
        captured = payment(1, status="captured")
        await store.run([table.update(captured, seen)])
        assert json_of(await answers.show(CALLER, first.id)) == captured.to_api()
        assert [json_of(one) for one in (await answers.page(CALLER, EVERYONE, 1, 10))[1]] == [captured.to_api()]

    with_store(database_url, scenario)


def test_no_more_answers_are_kept_than_asked(database_url):
    async def scenario(store: Store) -> None:
        payments = [payment(number) for number in (1, 2, 3)]
        await insert(store, *payments)
        answers = PaymentAnswers(store, kept=2)
        for one in payments + payments[:1]:
            assert json_of(await answers.show(CALLER, one.id)) == one.to_api()
            assert len(answers) <= 2
        total, page = await answers.page(CALLER, EVERYONE, 1, 10)
        assert (total, [json_of(one) for one in page]) == (3, [one.to_api() for one in reversed(payments)])
        assert len(answers) == 2

    with_store(database_url, scenario)


def test_a_payment_not_the_callers_is_not_found(database_url):
    async def scenario(store: Store) -> None:
        theirs = payment(1, merchant_id="merchant2")
        live = payment(2, mode="live")
        await insert(store, theirs, live)
        answers = PaymentAnswers(store)
        for payment_id in (theirs.id, live.id, "pay" + "9" * 22):
            with pytest.raises(ApiError) as refused:
                await answers.show(CALLER, payment_id)
            assert refused.value.code == "not_found"
        assert await answers.page(CALLER, EVERYONE, 1, 10) == (0, [])

    with_store(database_url, scenario)
