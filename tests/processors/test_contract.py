"""The processor contract, run against every implementation: the sandbox, the fake, and
(in tests/e2e/test_upstream_processor.py) the upstream KOMOJU processor against a real server.

What every processor must do: answer a charge with its own reference and a status; act on that
reference for capture (all of it, or part), refund and cancel; answer a repeated key as the first time, without
doing the work again; refuse with KOMOJU's error code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from komoju_server.domain.errors import ApiError
from komoju_server.methods import method_of
from komoju_server.processors import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    Processor,
    RefundRequest,
    RefundResult,
    SandboxProcessor,
)
from komoju_server.processors.base import STATUSES
from komoju_server.processors.fake import FakeProcessor, Trouble

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}


def charge_request(key: str, capture: bool = True, scenario: str | None = None) -> ChargeRequest:
    return ChargeRequest(
        key=key,
        payment_id="pay_" + key,
        method=method_of(CARD),
        details=CARD,
        amount=1000,
        tax=100,
        currency="JPY",
        capture=capture,
        created_at=1_800_000_000,
        base_url="http://127.0.0.1:1",
        scenario=scenario,
    )


def sandbox_decline(processor: Processor, key: str) -> ChargeRequest:
    return charge_request(key, scenario="card_declined")


def fake_decline(processor: Processor, key: str) -> ChargeRequest:
    assert isinstance(processor, FakeProcessor)
    processor.next("charge", Trouble(decline="card_declined"))
    return charge_request(key)


# name -> (make a processor, make a charge request it declines with card_declined)
IMPLEMENTATIONS: dict[str, tuple[Callable[[], Processor], Callable[[Processor, str], ChargeRequest]]] = {
    "sandbox": (SandboxProcessor, sandbox_decline),
    "fake": (FakeProcessor, fake_decline),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> tuple[Processor, Callable[[Processor, str], ChargeRequest]]:
    make, decline = IMPLEMENTATIONS[request.param]
    return make(), decline


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_a_charge_answers_a_reference_and_a_status(implementation):
    processor, _ = implementation
    captured = run(processor.charge(charge_request("k1")))
    authorized = run(processor.charge(charge_request("k2", capture=False)))
    assert isinstance(captured, PaymentResult) and captured.reference
    assert (captured.status, authorized.status) == ("captured", "authorized")
    assert captured.status in STATUSES and authorized.reference != captured.reference


def test_capture_refund_and_cancel_act_on_the_reference(implementation):
    processor, _ = implementation
    authorized = run(processor.charge(charge_request("k1", capture=False)))
    captured = run(processor.capture(CaptureRequest("k2", authorized.reference)))
    assert (captured.reference, captured.status) == (authorized.reference, "captured")
    refund = run(processor.refund(RefundRequest("k3", captured.reference, 300, "broken")))
    assert isinstance(refund, RefundResult) and refund.reference and refund.amount == 300
    other = run(processor.charge(charge_request("k4", capture=False)))
    cancelled = run(processor.cancel(CancelRequest("k5", other.reference)))
    assert (cancelled.reference, cancelled.status) == (other.reference, "cancelled")


def test_a_partial_capture_takes_part_and_refunds_act_on_it(implementation):
    processor, _ = implementation
    authorized = run(processor.charge(charge_request("k1", capture=False)))
    partial = CaptureRequest("k2", authorized.reference, 600, 60)
    assert partial.partial and not CaptureRequest("k0", authorized.reference).partial
    captured = run(processor.capture(partial))
    assert (captured.reference, captured.status) == (authorized.reference, "captured")
    assert run(processor.capture(partial)) == captured  # asked again with its key: the same answer
    refund = run(processor.refund(RefundRequest("k3", captured.reference, 660)))
    assert isinstance(refund, RefundResult) and refund.amount == 660
    if isinstance(processor, FakeProcessor):  # the only one that keeps money to count
        assert processor.captured[authorized.reference] == (600, 60)
        assert processor.effects[f"capture {authorized.reference}"] == 1


def test_a_capture_gives_both_amount_and_tax_or_neither():
    with pytest.raises(ValueError):
        CaptureRequest("k", "ref", 600)
    with pytest.raises(ValueError):
        CaptureRequest("k", "ref", None, 60)


def test_a_repeated_key_answers_as_the_first_time(implementation):
    processor, _ = implementation
    first = run(processor.charge(charge_request("k1")))
    assert run(processor.charge(charge_request("k1"))) == first
    refund = run(processor.refund(RefundRequest("k2", first.reference, 100)))
    assert run(processor.refund(RefundRequest("k2", first.reference, 100))) == refund
    if isinstance(processor, FakeProcessor):  # the only one that keeps money to count
        assert processor.effects[f"refund {first.reference}"] == 1
        assert processor.effects["charge pay_k1"] == 1


def test_a_refusal_is_kept_as_komojus_error_code(implementation):
    processor, decline = implementation
    with pytest.raises(ApiError) as refused:
        run(processor.charge(decline(processor, "k1")))
    assert (refused.value.code, refused.value.status) == ("card_declined", 502)


def test_optional_capabilities_are_found_on_the_processors_that_have_them():
    from komoju_server.processors.base import observable, tokenizer
    from komoju_server.processors.komoju import KomojuProcessor

    upstream = KomojuProcessor("http://127.0.0.1:9", "sk_test_key")
    assert observable(upstream) is upstream and tokenizer(upstream) is upstream
    # The sandbox and the fake report nothing later and hold no cards.
    for local in (SandboxProcessor(), FakeProcessor()):
        assert observable(local) is None and tokenizer(local) is None
    assert observable(None) is None and tokenizer(None) is None
