"""Keeping live payments in step with an upstream: webhooks received and reconcile rounds,
with a recording observer in place of the payments service and a scripted upstream."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.processors.base import PaymentResult, RefundResult, Unanswered
from komoju_server.processors.komoju import KomojuProcessor
from komoju_server.services.upstream import UpstreamPayments
from komoju_server.store import Store, intents
from komoju_server.store import payments as payments_table
from komoju_server.webhooks.signing import sign
from tests.support import with_store

SECRET = "whsec_test"
SCOPE = ("merchant1", "live")


class ScriptedUpstream:
    name = "komoju"
    read_event = staticmethod(KomojuProcessor.read_event)  # KOMOJU's events, read as the real one does

    def __init__(self, answers: dict[str, PaymentResult | Exception]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def lookup(self, reference: str) -> PaymentResult:
        self.asked.append(reference)
        answer = self.answers[reference]
        if isinstance(answer, Exception):
            raise answer
        return answer


class RecordingObserver:
    def __init__(self, store: Store, refuse: str | None = None) -> None:
        self.store = store
        self.refuse = refuse
        self.observed: list[tuple[Caller, str, PaymentResult]] = []

    async def get(self, caller: Caller, payment_id: str) -> Payment:
        payment = await payments_table.get(self.store, caller.scope, payment_id)
        assert payment is not None
        return payment

    async def observe(self, caller: Caller, payment_id: str, result: PaymentResult) -> Payment:
        if self.refuse:
            raise ApiError(self.refuse)
        self.observed.append((caller, payment_id, result))
        return await self.get(caller, payment_id)


async def live_payment(store: Store, payment_id: str, reference: str, status: str = "authorized") -> None:
    payment = Payment(payment_id, *SCOPE, "konbini", status, 1000, 100, "JPY", 1_700_000_000, {})
    await store.run(
        [*payments_table.insert(payment), intents.remember_reference("komoju", reference, SCOPE, payment_id)]
    )


def event(event_type: str, reference: str, status: str, refunds: list[dict] | None = None) -> bytes:
    data = {"id": reference, "resource": "payment", "status": status, "refunds": refunds or []}
    return orjson.dumps({"id": "ev1", "type": event_type, "resource": "event", "data": data})


def test_a_signed_event_is_observed_as_the_payment_it_carries(tmp_path: Path):
    async def scenario(store: Store) -> None:
        await live_payment(store, "pay1", "up1")
        observer = RecordingObserver(store)
        service = UpstreamPayments(store, ScriptedUpstream({}), observer, SECRET, 0)
        body = event("payment.refunded", "up1", "refunded", [{"id": "r1", "amount": 1100}])
        await service.receive(body, sign(SECRET, body))
        [(caller, payment_id, result)] = observer.observed
        assert (caller.scope, payment_id) == (SCOPE, "pay1")
        assert (result.status, result.refunds) == ("refunded", (RefundResult("r1", 1100),))

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


@pytest.mark.parametrize("signature", [None, "", "00" * 32, "not hex"])
def test_an_unsigned_or_forged_event_is_refused(tmp_path: Path, signature):
    async def scenario(store: Store) -> None:
        service = UpstreamPayments(store, ScriptedUpstream({}), RecordingObserver(store), SECRET, 0)
        with pytest.raises(ApiError) as caught:
            await service.receive(event("payment.captured", "up1", "captured"), signature)
        assert caught.value.code == "unauthorized"

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


def test_without_a_secret_no_event_counts(tmp_path: Path):
    async def scenario(store: Store) -> None:
        service = UpstreamPayments(store, ScriptedUpstream({}), RecordingObserver(store), None, 0)
        body = event("payment.captured", "up1", "captured")
        with pytest.raises(ApiError) as caught:
            await service.receive(body, sign("", body))
        assert caught.value.code == "unauthorized"

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


def test_unknown_references_are_acknowledged_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    async def scenario(store: Store) -> None:
        observer = RecordingObserver(store)
        service = UpstreamPayments(store, ScriptedUpstream({}), observer, SECRET, 0)
        body = event("payment.captured", "elsewhere", "captured")
        with caplog.at_level(logging.INFO, logger="komoju_server"):
            for _ in range(3):
                assert await service.receive(body, sign(SECRET, body)) == "unknown reference"
        assert caplog.text.count("elsewhere") == 1
        assert observer.observed == []

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


def test_events_that_are_not_about_payments_are_ignored_and_garbage_is_a_bad_request(tmp_path: Path):
    async def scenario(store: Store) -> None:
        service = UpstreamPayments(store, ScriptedUpstream({}), RecordingObserver(store), SECRET, 0)
        ping = orjson.dumps({"id": "ev", "type": "ping", "data": {}})
        assert await service.receive(ping, sign(SECRET, ping)) == "ignored ping"
        for body in (b"[]", b"{", orjson.dumps({"type": "payment.captured", "data": {"id": "x", "status": "paid"}})):
            with pytest.raises(ApiError) as caught:
                await service.receive(body, sign(SECRET, body))
            assert caught.value.code == "bad_request"

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


def test_an_event_the_payments_service_refuses_is_acknowledged(tmp_path: Path):
    async def scenario(store: Store) -> None:
        await live_payment(store, "pay1", "up1")
        service = UpstreamPayments(store, ScriptedUpstream({}), RecordingObserver(store, "not_found"), SECRET, 0)
        body = event("payment.captured", "up1", "captured")
        assert await service.receive(body, sign(SECRET, body)) == "not applied (not_found)"

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)


def test_reconcile_observes_what_moved_and_stops_when_the_upstream_is_down(tmp_path: Path):
    async def scenario(store: Store) -> None:
        for number in range(1, 5):
            await live_payment(store, f"pay{number}", f"up{number}")
        await live_payment(store, "pay_done", "up_done", status="captured")  # not open: never asked
        upstream = ScriptedUpstream(
            {
                "up1": PaymentResult("up1", "captured"),
                "up2": PaymentResult("up2", "authorized"),  # unchanged: not observed
                "up3": Unanswered("refused", sent=False),  # down: the round ends here
                "up4": PaymentResult("up4", "expired"),
            }
        )
        observer = RecordingObserver(store)
        service = UpstreamPayments(store, upstream, observer, SECRET, 0)
        assert await service.reconcile() == 1
        assert [payment_id for _, payment_id, _ in observer.observed] == ["pay1"]
        assert upstream.asked == ["up1", "up2", "up3"]
        upstream.answers["up3"] = PaymentResult("up3", "cancelled")
        assert await service.reconcile() == 3  # pay1 is still open for this observer, which records only
        assert [payment_id for _, payment_id, _ in observer.observed] == ["pay1", "pay1", "pay3", "pay4"]

    with_store(f"sqlite:///{tmp_path / 'a.db'}", scenario)
