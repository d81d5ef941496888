"""An idempotent request's answer commits in the unit of work of the change it answers, on a
real SQLite store: never a change without its answer, never an answer without its change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import orjson
import pytest

from komoju_server.domain.clock import TimeRange
from komoju_server.services import answers
from komoju_server.services.changes import change
from komoju_server.services.customers import Customers
from komoju_server.services.events import Events
from komoju_server.services.idempotency import Idempotency, Ticket
from komoju_server.services.locks import KeyedLocks
from komoju_server.services.tokens import Tokens
from komoju_server.store import Conflict, Store, Write, intents, open_store
from komoju_server.store import idempotency as table
from komoju_server.store.vault import Vault
from tests.services.test_tokens import CALLER, CARD, START, MerchantClock

VAULT = Vault(bytes(32))
FINGERPRINT = "f" * 64


class RecordingStore:
    """The real store, keeping every unit of work it was given; `fail_after_answer` makes a
    unit carrying an answer fail after all its statements ran, as a crash before COMMIT would."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.kind = store.kind
        self.units: list[list[Write]] = []
        self.fail_after_answer = False

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> object:
        return await self._store.fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> object:
        return await self._store.fetch_all(sql, params)

    async def run(self, unit: Sequence[Write]) -> list[int]:
        self.units.append(list(unit))
        if self.fail_after_answer and any(w.label == table.ANSWER_LABEL for w in unit):
            # A last statement that touches no row where it must touch one: the whole unit rolls back.
            unit = [*unit, Write("DELETE FROM tokens WHERE id = 'none'", expect=1, label="crash")]
        return await self._store.run(unit)


class World:
    def __init__(self, store: Store) -> None:
        self.store = RecordingStore(store)
        self.clock = MerchantClock(START)
        self.tokens = Tokens(self.store, self.clock, VAULT)  # type: ignore[arg-type]
        self.customers = Customers(self.store, self.clock, Events(self.store), VAULT, self.tokens)  # type: ignore[arg-type]
        self.idempotency = Idempotency(self.store, self.clock, VAULT)  # type: ignore[arg-type]

    async def claim(self, key: str = "key-1") -> Ticket:
        ticket = await self.idempotency.begin(CALLER, key, FINGERPRINT)
        assert isinstance(ticket, Ticket)
        return ticket

    async def stored(self, ticket: Ticket) -> tuple[int | None, bytes | None]:
        claim = await table.get(self.store, ticket.scope, ticket.key)
        assert claim is not None
        return claim.status, claim.body

    async def customers_total(self) -> int:
        return (await self.customers.page(CALLER, TimeRange(), 1, 10))[0]


def run_with(tmp_path: Path, body: Callable[[World], Awaitable[None]]) -> None:
    async def main() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'answers.db'}")
        await store.migrate()
        await store.open()
        try:
            await body(World(store))
        finally:
            answers.served()
            await store.close()

    asyncio.run(main())


def test_the_answer_commits_in_the_unit_of_its_change(tmp_path: Path):
    async def body(world: World) -> None:
        ticket = await world.claim()
        serving = answers.serving(ticket)
        customer = await world.customers.create(CALLER, {"payment_details": CARD}, None)
        (unit,) = [u for u in world.store.units if any(w.label == table.ANSWER_LABEL for w in u)]
        assert any("INSERT INTO customers" in w.sql for w in unit)
        sent = orjson.dumps(customer.to_api())  # what api/responses.send would send
        assert serving.answered == (200, sent)
        assert await world.stored(ticket) == (200, sent)

    run_with(tmp_path, body)


def test_a_unit_that_fails_after_the_change_takes_the_answer_with_it(tmp_path: Path):
    async def body(world: World) -> None:
        ticket = await world.claim()
        answers.serving(ticket)
        world.store.fail_after_answer = True
        with pytest.raises(Conflict):
            await world.customers.create(CALLER, {"payment_details": CARD}, None)
        assert await world.customers_total() == 0
        assert await world.stored(ticket) == (None, None)  # still claimed, unanswered: a retry runs it

    run_with(tmp_path, body)


def test_a_change_whose_key_was_taken_over_rolls_back(tmp_path: Path):
    """The lease ran out and a retry took the key over: the retry's run counts, not this one."""

    async def body(world: World) -> None:
        ticket = await world.claim()
        answers.serving(ticket)
        await world.store.run(
            [table.take_over(ticket.scope, ticket.key, ticket.owner, "someone-else", FINGERPRINT, START, 0, 1)]
        )
        with pytest.raises(Conflict) as caught:
            await world.customers.create(CALLER, {"payment_details": CARD}, None)
        assert caught.value.write.label == table.ANSWER_LABEL
        assert await world.customers_total() == 0

    run_with(tmp_path, body)


def test_an_answer_written_with_its_change_is_not_overwritten_by_finish(tmp_path: Path):
    async def body(world: World) -> None:
        ticket = await world.claim()
        answers.serving(ticket)
        await world.tokens.create(CALLER, {"payment_details": CARD})
        stored = await world.stored(ticket)
        assert stored[0] == 200
        # A later, different answer for the same request (an error after the commit) stores nothing.
        assert not await world.idempotency.finish(ticket, 422, b"{}")
        assert not await world.idempotency.finish(ticket, 500, b"{}")  # nor frees the key
        assert await world.stored(ticket) == stored
        assert await world.idempotency.stored_answer(ticket) == stored

    run_with(tmp_path, body)


def test_a_reset_that_erased_the_claim_gets_it_back_with_its_answer(tmp_path: Path):
    async def body(world: World) -> None:
        ticket = await world.claim()
        answers.serving(ticket)
        await world.store.run([*table.erase(*CALLER.scope), *answers.writes_for(200, {"ok": True})])
        assert await world.stored(ticket) == (200, b'{"ok":true}')

    run_with(tmp_path, body)


def test_no_writes_outside_an_idempotent_request_or_for_answers_not_kept(tmp_path: Path):
    async def body(world: World) -> None:
        assert answers.writes_for(200, {"id": "x"}) == []
        serving = answers.serving(await world.claim())
        for status in (409, 500, 502, 503):
            assert answers.writes_for(status, {"error": {}}) == []
        assert serving.answered is None
        with answers.suspended():
            assert answers.writes_for(200, {"id": "nested"}) == []
        assert len(answers.writes_for(200, {"id": "x"})) == 1
        answers.served()
        assert answers.writes_for(200, {"id": "x"}) == []

    run_with(tmp_path, body)


def test_an_answer_given_to_a_lost_attempt_is_withdrawn(tmp_path: Path):
    """The change helper starts each attempt afresh: the middleware must not take the answer
    of an attempt whose unit rolled back for the one that committed."""

    async def body(world: World) -> None:
        serving = answers.serving(await world.claim())
        seen: list[tuple[int, bytes] | None] = []

        async def attempt() -> str:
            seen.append(serving.answered)
            answers.writes_for(200, {"attempt": len(seen)})
            if len(seen) == 1:
                raise Conflict(Write("UPDATE x", expect=1, label="update thing"), 0)
            return "done"

        assert await change(KeyedLocks(), "obj", attempt, ("update thing",)) == "done"
        assert seen == [None, None]
        assert serving.answered == (200, b'{"attempt":2}')

    run_with(tmp_path, body)


def test_a_payment_and_its_refund_commit_with_their_answers(tmp_path: Path):
    from komoju_server.methods import clean_details, method_of
    from komoju_server.processors import Processors
    from komoju_server.services.inputs import InlineDetails, NewPayment, Refund
    from komoju_server.services.payments import Payments
    from komoju_server.services.sources import StoredDetails

    async def body(world: World) -> None:
        payments = Payments(
            world.store,  # type: ignore[arg-type]
            Processors(),
            world.clock,  # type: ignore[arg-type]
            Events(world.store),  # type: ignore[arg-type]
            StoredDetails(world.tokens, world.customers),
            VAULT,
        )
        method = method_of(CARD)
        new = NewPayment(1000, "JPY", 100, InlineDetails(method, clean_details(method, CARD)))
        ticket = await world.claim("key-pay")
        answers.serving(ticket)
        created = await payments.create(CALLER, new, "http://127.0.0.1:9")
        (unit,) = [u for u in world.store.units if any(w.label == table.ANSWER_LABEL for w in u)]
        assert any(w.label == "insert payment" for w in unit)
        assert await world.stored(ticket) == (200, orjson.dumps(created.answer))
        answers.served()

        ticket = await world.claim("key-refund")
        answers.serving(ticket)
        refunded = await payments.refund(CALLER, created.payment.id, Refund(300))
        answered = [u for u in world.store.units if any(w.label == table.ANSWER_LABEL for w in u)]
        assert len(answered) == 2
        # The refund's answer goes with the unit that records it. The sandbox calls nothing
        # outside this process, so it is asked within that unit: no intent is claimed or settled.
        assert "update payment" in {w.label for w in answered[1]}
        labels = {w.label for unit in world.store.units for w in unit}
        assert not labels & {intents.CLAIM_LABEL, intents.SETTLE_LABEL}
        assert await world.stored(ticket) == (200, orjson.dumps(refunded.to_api()))

    run_with(tmp_path, body)
