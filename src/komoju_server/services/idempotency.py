"""Idempotent requests: claim the key, do the work once, keep the answer for 24 hours.

`begin` either hands back a stored answer, refuses (409 while the first request runs, 422
for a different request under the same key), or claims the key and returns a `Ticket`.
A request that changes something stores its answer in the unit of work of the change
(`services.answers`); otherwise `finish` stores the answer under the ticket, or frees the key
when the answer invites a retry (see `domain.idempotency.keeps`). Claiming is one atomic insert, so of any number of
identical requests arriving together exactly one does the work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from komoju_server.domain import clock, idempotency
from komoju_server.domain.caller import Caller
from komoju_server.domain.idempotency import Verdict
from komoju_server.services.clock import Clock
from komoju_server.store import Conflict, Store
from komoju_server.store import idempotency as table
from komoju_server.store.vault import LazyVault

MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Ticket:
    """The right to run one request under a key, and to store its answer."""

    scope: tuple[str, str]
    key: str
    owner: str
    # The claim's terms, for writing it afresh with its answer (see `services.answers`).
    fingerprint: str
    created_at: int  # merchant's clock
    expires_at: int  # real time


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


FINGERPRINT_PURPOSE = "komoju-server idempotency fingerprints"


class Idempotency:
    def __init__(self, store: Store, clock_: Clock, vault: LazyVault) -> None:
        self._store = store
        self._clock = clock_
        self._vault = vault
        self._fingerprint_key: bytes | None = None

    def fingerprint(self, method: str, path: str, query: str, body: bytes) -> str:
        if self._fingerprint_key is None:
            self._fingerprint_key = self._vault.derive(FINGERPRINT_PURPOSE)
        return idempotency.fingerprint(self._fingerprint_key, method, path, query, body)

    async def begin(self, caller: Caller, key: str, fingerprint: str) -> Ticket | Replay:
        owner = os.urandom(12).hex()
        scope = caller.scope
        for _ in range(MAX_ATTEMPTS):
            now = await self._clock.now(caller)
            real_now = clock.now()
            expires_at = real_now + idempotency.RETENTION
            terms = (fingerprint, now, real_now + idempotency.LEASE, expires_at)
            ticket = Ticket(scope, key, owner, fingerprint, now, expires_at)
            try:
                await self._store.run([table.claim(scope, key, owner, *terms)])
                return ticket
            except Conflict:
                pass
            held = await table.get(self._store, scope, key)
            if held is None:  # freed or purged since: claim it again
                continue
            verdict = idempotency.judge(held, fingerprint, now, real_now)
            if verdict is Verdict.REPLAY:
                assert held.status is not None and held.body is not None
                return Replay(held.status, held.body)
            if verdict is Verdict.IN_FLIGHT:
                raise idempotency.conflict()
            if verdict is Verdict.MISMATCH:
                raise idempotency.mismatch()
            try:
                await self._store.run([table.take_over(scope, key, held.owner, owner, *terms)])
                return ticket
            except Conflict:
                continue  # someone else took it over first: judge again what they left
        raise idempotency.conflict()

    async def finish(self, ticket: Ticket, status: int, body: bytes) -> bool:
        """Stores the answer of a request whose answer was not written with its change, or
        frees the key. False when the claim already holds an answer (committed with its change)
        or is no longer this request's."""
        if idempotency.keeps(status):
            write = table.answer(ticket.scope, ticket.key, ticket.owner, status, body)
        else:
            write = table.release(ticket.scope, ticket.key, ticket.owner)
        counts = await self._store.run([write])
        return counts[0] == 1

    async def stored_answer(self, ticket: Ticket) -> tuple[int, bytes] | None:
        """The answer stored under the ticket's claim, if any."""
        return await table.answer_of(self._store, ticket.scope, ticket.key, ticket.owner)

    async def purge(self) -> int:
        """Forgets keys past their 24 hours; run by the scheduler."""
        counts = await self._store.run([table.purge(clock.now())])
        return counts[0]
