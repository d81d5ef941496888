"""The payments service calls a processor once per intent, on both databases.

A fake remote processor counts every effect. Two `Payments` objects over one store stand for
two server processes (each has its own in-process locks, so only the database keeps them
apart). Recovery is run by hand with a lease of 0 seconds, as the scheduler would after the
lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.methods import clean_details, method_of
from komoju_server.processors import PaymentResult, Processors, RefundResult
from komoju_server.processors.fake import FakeProcessor, Trouble
from komoju_server.services.events import Events
from komoju_server.services.inputs import Capture, InlineDetails, NewPayment, Refund
from komoju_server.services.payments import Payments, Resolved
from komoju_server.store import Store, intents, open_store
from komoju_server.store.vault import Vault
from tests.services.test_tokens import START, MerchantClock

LIVE = Caller("merchant1", "live", "secret")
CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}


class NoStoredDetails:
    async def from_token(self, caller: Caller, token_id: str, param: str, now: int) -> Resolved:
        raise ApiError("invalid_token", param)

    async def from_customer(self, caller: Caller, customer_id: str, now: int) -> Resolved:
        raise ApiError("invalid_parameter", "customer")


def card_payment(capture: bool = True) -> NewPayment:
    method = method_of(CARD)
    return NewPayment(1000, "JPY", 100, InlineDetails(method, clean_details(method, CARD)), capture=capture)


Scenario = Callable[[Store, FakeProcessor, Callable[[], Payments]], Awaitable[None]]


def run(database_url: str, scenario: Scenario, lease: int = 60) -> None:
    async def main() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        fake = FakeProcessor()
        processors = Processors(live=fake)
        vault = Vault(bytes(32))

        def process() -> Payments:  # another server process's service over the same database
            return Payments(store, processors, MerchantClock(START), Events(store), NoStoredDetails(), vault, lease)

        try:
            await scenario(store, fake, process)
        finally:
            await store.close()

    asyncio.run(main())


async def outcomes(calls: list[Awaitable[Any]]) -> list[Any]:
    return await asyncio.gather(*calls, return_exceptions=True)


async def all_settled(store: Store) -> bool:
    row = await store.fetch_one("SELECT COUNT(*) FROM processor_intents WHERE status = 'pending'")
    return row is not None and row[0] == 0


async def race_refunds(caller: Caller, one: Payments, two: Payments) -> Payment:
    """Eight refunds of 300 from two processes on a 1,100-yen payment: three fit, five are
    refused on the amount. Returns the payment as stored after the race."""
    payment = (await one.create(caller, card_payment(), "")).payment
    results = await outcomes([service.refund(caller, payment.id, Refund(300)) for service in (one, two) * 4])
    refunded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(refunded) == 3 and len(refused) == 5
    assert {(e.code, e.param) for e in refused} == {("not_refundable", "amount")}
    stored = await one.get(caller, payment.id)
    assert stored.amount_refunded == 900 and len(stored.refunds) == 3
    return stored


def test_racing_refunds_from_two_processes_reach_the_processor_once_each_and_never_exceed_the_total(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        fake.delay = 0.01
        payment = await race_refunds(LIVE, process(), process())
        assert fake.effects[f"refund {payment.reference}"] == 3 == fake.calls["refund"]
        assert await all_settled(store)

    run(database_url, scenario)


def test_racing_captures_capture_once(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        one, two = process(), process()
        payment = (await one.create(LIVE, card_payment(capture=False), "")).payment
        assert payment.status == "authorized"
        fake.delay = 0.01
        results = await outcomes([service.capture(LIVE, payment.id) for service in (one, two, one, two)])
        captured = [r for r in results if not isinstance(r, BaseException)]
        assert len(captured) == 1 and captured[0].status == "captured"
        assert {r.code for r in results if isinstance(r, ApiError)} == {"not_capturable"}
        assert fake.effects[f"capture {payment.reference}"] == 1 == fake.calls["capture"]

    run(database_url, scenario)


def test_a_partial_capture_reaches_the_processor_with_amount_and_tax_and_bounds_refunds(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        captured = await service.capture(LIVE, payment.id, Capture(600))
        assert (captured.status, captured.amount, captured.tax, captured.total) == ("captured", 600, 60, 660)
        assert fake.captured[payment.reference] == (600, 60)
        with pytest.raises(ApiError) as too_much:
            await service.refund(LIVE, payment.id, Refund(661))
        assert (too_much.value.code, too_much.value.param) == ("not_refundable", "amount")
        assert (await service.refund(LIVE, payment.id, Refund(None))).status == "refunded"
        assert fake.calls["refund"] == 1 and await all_settled(store)

    run(database_url, scenario)


def test_a_full_capture_asks_the_processor_for_everything_without_amounts(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        captured = await service.capture(LIVE, payment.id, Capture(1000, 100))  # all of it, spelled out
        assert (captured.amount, captured.tax, captured.total) == (1000, 100, 1100)
        assert fake.captured == {} and fake.effects[f"capture {payment.reference}"] == 1

    run(database_url, scenario)


def test_a_partial_capture_whose_answer_was_lost_is_recorded_by_recovery_with_its_amounts(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        fake.next("capture", Trouble(lose_answer=True))
        with pytest.raises(ApiError) as lost:
            await service.capture(LIVE, payment.id, Capture(300, 0))
        assert lost.value.code == "bad_gateway"
        [pending] = await intents.pending_for(store, payment.id)
        assert (pending.kind, pending.amount) == ("capture", 300)
        assert (await service.get(LIVE, payment.id)).status == "authorized"
        with pytest.raises(ApiError) as moving:  # a capture in flight: no second one meanwhile
            await service.capture(LIVE, payment.id)
        assert moving.value.code == "not_capturable"
        assert await service.recover() == 1
        stored = await service.get(LIVE, payment.id)
        assert (stored.status, stored.amount, stored.tax, stored.total) == ("captured", 300, 0, 300)
        assert fake.calls["capture"] == 2 and fake.effects[f"capture {payment.reference}"] == 1
        assert fake.captured[payment.reference] == (300, 0)

    run(database_url, scenario, lease=0)


def test_a_capture_intent_claimed_before_partial_capture_existed_is_recovered_as_a_full_capture(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        old_shape = {"reference": payment.reference, "amount": 1100}  # the total, no tax
        await store.run([intents.claim("old-key", LIVE.scope, payment.id, "capture", 1100, old_shape, 0, START)])
        assert await service.recover() == 1
        stored = await service.get(LIVE, payment.id)
        assert (stored.status, stored.amount, stored.tax, stored.total) == ("captured", 1000, 100, 1100)
        assert fake.captured == {} and fake.effects[f"capture {payment.reference}"] == 1

    run(database_url, scenario, lease=0)


def test_a_lost_answer_leaves_the_intent_pending_and_recovery_records_it_without_refunding_again(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(), "")).payment
        fake.next("refund", Trouble(lose_answer=True))
        with pytest.raises(ApiError) as lost:
            await service.refund(LIVE, payment.id, Refund(400))
        assert (lost.value.code, lost.value.status) == ("bad_gateway", 502)
        assert (await service.get(LIVE, payment.id)).amount_refunded == 0
        [pending] = await intents.pending_for(store, payment.id)
        assert (pending.kind, pending.amount) == ("refund", 400)
        # The pending refund reserves its amount: only 700 is left to refund meanwhile.
        with pytest.raises(ApiError) as too_much:
            await service.refund(LIVE, payment.id, Refund(701))
        assert (too_much.value.code, too_much.value.param) == ("not_refundable", "amount")
        assert await service.recover() == 1
        stored = await service.get(LIVE, payment.id)
        assert stored.amount_refunded == 400 and [r["amount"] for r in stored.refunds] == [400]
        assert fake.calls["refund"] == 2 and fake.effects[f"refund {payment.reference}"] == 1
        assert await all_settled(store)
        assert await service.recover() == 0

    run(database_url, scenario, lease=0)


def test_an_unreachable_processor_is_bad_gateway_and_settles_the_intent_failed(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        fake.next("capture", Trouble(unreachable=True))
        with pytest.raises(ApiError) as down:
            await service.capture(LIVE, payment.id)
        assert down.value.code == "bad_gateway"
        assert await all_settled(store)
        assert (await service.get(LIVE, payment.id)).status == "authorized"
        assert (await service.capture(LIVE, payment.id)).status == "captured"
        assert fake.effects[f"capture {payment.reference}"] == 1

    run(database_url, scenario)


def test_a_refusal_answers_the_processors_code_and_changes_nothing(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        fake.next("charge", Trouble(decline="card_declined"))
        with pytest.raises(ApiError) as declined:
            await service.create(LIVE, card_payment(), "")
        assert (declined.value.code, declined.value.status) == ("card_declined", 502)
        row = await store.fetch_one("SELECT COUNT(*) FROM payments")
        assert row == (0,)
        assert await all_settled(store)

    run(database_url, scenario)


def test_a_charge_whose_answer_was_lost_is_recorded_by_recovery_and_charged_once(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        fake.next("charge", Trouble(lose_answer=True))
        with pytest.raises(ApiError) as lost:
            await service.create(LIVE, card_payment(), "")
        assert lost.value.code == "bad_gateway"
        assert await store.fetch_one("SELECT COUNT(*) FROM payments") == (0,)  # no half-made payment
        sealed = await store.fetch_one("SELECT sealed FROM processor_intents")
        assert sealed is not None and b"4111111111111111" not in bytes(sealed[0])
        assert await service.recover() == 1
        row = await store.fetch_one("SELECT id, status FROM payments")
        assert row is not None and row[1] == "captured"
        stored = await service.get(LIVE, row[0])
        assert stored.reference in fake.payments and stored.details["last_four_digits"] == "1111"
        assert sum(fake.effects.values()) == 1 and fake.calls["charge"] == 2
        assert await store.fetch_one("SELECT sealed FROM processor_intents") == (None,)  # secrets forgotten
        assert await intents.payment_for(store, "fake", stored.reference or "") == ("merchant1", "live", stored.id)

    run(database_url, scenario, lease=0)


def test_what_the_processor_reports_later_is_applied_once(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(capture=False), "")).payment
        reference = payment.reference or ""
        captured = await service.observe(LIVE, payment.id, PaymentResult(reference, "captured"))
        assert captured.status == "captured" and captured.captured_at == START
        refunds = (RefundResult("upstream_refund_1", 1100),)
        refunded = await service.observe(LIVE, payment.id, PaymentResult(reference, "refunded", refunds=refunds))
        again = await service.observe(LIVE, payment.id, PaymentResult(reference, "refunded", refunds=refunds))
        assert refunded.status == again.status == "refunded"
        assert again.amount_refunded == 1100 and len(again.refunds) == 1 and again.version == refunded.version
        types = [row[0] for row in await store.fetch_all("SELECT type FROM events ORDER BY seq")]
        assert types == ["payment.authorized", "payment.captured", "payment.refund.created", "payment.refunded"]

    run(database_url, scenario)


TEST = Caller("merchant1", "test", "secret")


def test_racing_sandbox_refunds_from_two_processes_never_exceed_the_total_and_claim_no_intent(database_url):
    """The sandbox is asked within the unit that records its answer (no intent): the payment's
    version still lets only one of two racing processes write, and the other plans again."""

    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        await race_refunds(TEST, process(), process())
        created = await store.fetch_all("SELECT id FROM events WHERE type = 'payment.refund.created'")
        assert len(created) == 3
        assert await store.fetch_all("SELECT idem_key FROM processor_intents") == []
        assert not fake.calls  # the live processor was never asked

    run(database_url, scenario)


def test_a_payment_is_read_with_the_intents_pending_on_it_in_one_query(database_url):
    async def scenario(store: Store, fake: FakeProcessor, process: Callable[[], Payments]) -> None:
        service = process()
        payment = (await service.create(LIVE, card_payment(), "")).payment
        other = (await service.create(LIVE, card_payment(), "")).payment
        found = await intents.payment_and_pending(store, LIVE.scope, payment.id)
        assert found is not None and found[0].id == payment.id and found[1] == []
        assert found[0].to_api() == (await service.get(LIVE, payment.id)).to_api()
        for key, kind in (("k1", "refund"), ("k2", "capture"), ("k3", "refund")):
            await store.run([intents.claim(key, LIVE.scope, payment.id, kind, 100, {}, 0, START)])
        await store.run([intents.claim("elsewhere", LIVE.scope, other.id, "refund", 100, {}, 0, START)])
        await store.run([intents.settle("k3", intents.SUCCEEDED, {})])
        found = await intents.payment_and_pending(store, LIVE.scope, payment.id)
        assert found is not None and found[0].version == payment.version
        assert sorted((i.key, i.kind, i.status) for i in found[1]) == [
            ("k1", "refund", "pending"),
            ("k2", "capture", "pending"),
        ]
        assert await intents.payment_and_pending(store, ("merchant1", "test"), payment.id) is None
        assert await intents.payment_and_pending(store, LIVE.scope, "nosuchpayment") is None

    run(database_url, scenario)
