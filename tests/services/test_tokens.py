"""The token service on a real SQLite store with an injected merchant clock: the 30-day
lifetime, one use only, and the sealed details erased once they cannot be used any more."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.tokens import Tokens
from komoju_server.store import Conflict, Store, Write, open_store
from komoju_server.store import tokens as table
from komoju_server.store.vault import Vault

START = 1_800_000_000
DAY = 86_400
CALLER = Caller("merchant1", "test", "secret")
CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030, "verification_value": "987"}


class MerchantClock:
    """Stands in for services.clock.Clock: the merchant's time, moved by the test."""

    def __init__(self, now: int) -> None:
        self.value = now

    async def now(self, caller: Caller) -> int:
        return self.value

    async def now_for_write(self, caller: Caller) -> tuple[int, list[Write]]:
        return self.value, []  # one process: nothing to hold on

    def forget_if_moved(self, caller: Caller, conflict: Conflict, held: list[Write]) -> bool:
        return False


def run_with(tmp_path: Path, body: Callable[[Store, Tokens, MerchantClock], Awaitable[None]]) -> None:
    async def main() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'tokens.db'}")
        await store.migrate()
        await store.open()
        clock = MerchantClock(START)
        try:
            await body(store, Tokens(store, clock, Vault(bytes(32))), clock)  # type: ignore[arg-type]
        finally:
            await store.close()

    asyncio.run(main())


async def secret_of(store: Store, token_id: str) -> Any:
    row = await store.fetch_one("SELECT secret FROM tokens WHERE id = ?", (token_id,))
    assert row is not None
    return row[0]


def assert_invalid_token(error: ApiError) -> None:
    assert error.body() == {
        "error": {"code": "invalid_token", "message": "The token you requested is invalid", "param": "payment_details"}
    }
    assert error.status == 422


def test_a_token_is_good_until_30_days_on_the_merchant_clock(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        token = await tokens.create(CALLER, {"payment_details": CARD})
        assert token.expires_at == START + 30 * DAY
        clock.value = START + 30 * DAY - 1
        resolved = await tokens.resolve(CALLER, token.id, "payment_details", clock.value)
        assert resolved.details == {"type": "credit_card", **CARD}
        assert resolved.method.type == "credit_card"
        await store.run(resolved.writes)  # used in its last second
        assert await secret_of(store, token.id) is None

    run_with(tmp_path, body)


def test_an_expired_token_is_invalid(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        token = await tokens.create(CALLER, {"payment_details": CARD})
        clock.value = START + 30 * DAY
        with pytest.raises(ApiError) as caught:
            await tokens.resolve(CALLER, token.id, "payment_details", clock.value)
        assert_invalid_token(caught.value)

    run_with(tmp_path, body)


def test_a_token_resolved_before_expiry_cannot_be_used_after_it(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        token = await tokens.create(CALLER, {"payment_details": CARD})
        await tokens.resolve(CALLER, token.id, "payment_details", START + 30 * DAY - 1)
        late = await tokens.resolve(CALLER, token.id, "payment_details", START + DAY)
        # The use is conditional on the time the unit of work commits with, not when it was read.
        with pytest.raises(Conflict) as caught:
            await store.run([table.use(token.id, CALLER.scope, START + 30 * DAY)])
        assert caught.value.write.label == "use token"
        await store.run(late.writes)

    run_with(tmp_path, body)


def test_two_uses_of_one_token_commit_once(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        token = await tokens.create(CALLER, {"payment_details": CARD})
        first = await tokens.resolve(CALLER, token.id, "payment_details", START)
        second = await tokens.resolve(CALLER, token.id, "payment_details", START)
        results = await asyncio.gather(store.run(first.writes), store.run(second.writes), return_exceptions=True)
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "list"]
        with pytest.raises(ApiError) as caught:
            await tokens.resolve(CALLER, token.id, "payment_details", START)
        assert_invalid_token(caught.value)

    run_with(tmp_path, body)


def test_other_merchants_and_modes_do_not_see_the_token(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        token = await tokens.create(CALLER, {"payment_details": CARD})
        for stranger in (Caller("merchant2", "test", "secret"), Caller("merchant1", "live", "secret")):
            with pytest.raises(ApiError) as caught:
                await tokens.resolve(stranger, token.id, "payment_details", START)
            assert_invalid_token(caught.value)

    run_with(tmp_path, body)


def test_expired_tokens_are_deleted_with_their_sealed_details(tmp_path: Path):
    async def body(store: Store, tokens: Tokens, clock: MerchantClock) -> None:
        old = await tokens.create(CALLER, {"payment_details": CARD})
        clock.value = START + DAY
        young = await tokens.create(CALLER, {"payment_details": CARD})
        await tokens.forget_expired(START + 30 * DAY)
        assert await store.fetch_one("SELECT 1 FROM tokens WHERE id = ?", (old.id,)) is None
        assert await secret_of(store, young.id) is not None
        await tokens.check_vault()  # what is left still opens with the key
        with pytest.raises(ApiError) as caught:
            await tokens.resolve(CALLER, old.id, "payment_details", START)
        assert_invalid_token(caught.value)

    run_with(tmp_path, body)
