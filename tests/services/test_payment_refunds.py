"""A refund's fields are all checked before the processor is asked to move money: a refused
refund never reaches a real processor (the sandbox's refund does nothing, so this is only
visible here, with a processor that records what it is asked)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.processors import Processors, SandboxProcessor
from komoju_server.services.events import Events
from komoju_server.services.payments import Payments
from komoju_server.store import open_store
from tests.services.test_tokens import CARD, START, MerchantClock

LIVE = Caller("merchant1", "live", "secret")


class RecordingProcessor(SandboxProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.refunds: list[tuple[str, int]] = []

    async def refund(self, payment: Payment, amount: int) -> None:
        self.refunds.append((payment.id, amount))


@pytest.mark.parametrize("description", [["x"], {"a": "b"}, True, "x" * 256])
def test_a_refund_with_a_bad_description_never_reaches_the_processor(tmp_path: Path, description):
    async def main() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'refunds.db'}")
        await store.migrate()
        await store.open()
        try:
            processor = RecordingProcessor()
            payments = Payments(store, Processors(live=processor), MerchantClock(START), Events(store))  # type: ignore[arg-type]
            created = await payments.create(
                LIVE, {"amount": 1000, "currency": "JPY", "payment_details": CARD}, "", None
            )
            with pytest.raises(ApiError) as caught:
                await payments.refund(LIVE, created.payment.id, {"amount": 100, "description": description})
            assert (caught.value.code, caught.value.param) == ("invalid_parameter", "description")
            assert processor.refunds == []
            assert (await payments.get(LIVE, created.payment.id)).refunds == []
            refunded = await payments.refund(LIVE, created.payment.id, {"amount": 100, "description": "ok"})
            assert processor.refunds == [(created.payment.id, 100)]
            assert [r["description"] for r in refunded.refunds] == ["ok"]
        finally:
            await store.close()

    asyncio.run(main())
