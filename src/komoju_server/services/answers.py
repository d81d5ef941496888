"""The answer of an idempotent request, stored in the same unit of work as the change it answers.

Were the answer stored after the change committed (a second unit), a crash between the two
would leave a change without its answer, and a retry after the claim's lease would run the
change again. So a use case that changes something asks `writes_for(status, answer)` for the
writes that store its answer, and adds them to its final unit: the change and its answer then
commit together or not at all.

The request being served is a context variable: the HTTP middleware sets it when it claims a
key (`serving`) and clears it at the end (`served`); outside an idempotent request (a GET, a
POST without a key, the scheduler) `writes_for` answers `[]`. A use case run inside another
(what a clock advance fires) must not answer for the request: wrap it in `suspended()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from komoju_server.domain import idempotency
from komoju_server.services.idempotency import Ticket
from komoju_server.store import Write
from komoju_server.store import idempotency as table


@dataclass
class Serving:
    """An idempotent request under way, and the answer a unit of work was given for it."""

    ticket: Ticket
    # (status, body) last handed to a unit; it may not have committed (see `withdraw`).
    answered: tuple[int, bytes] | None = None


_serving: ContextVar[Serving | None] = ContextVar("komoju_idempotent_request", default=None)


def serving(ticket: Ticket) -> Serving:
    """The middleware claimed `ticket` for the request now being served."""
    current = Serving(ticket)
    _serving.set(current)
    return current


def served() -> None:
    """The request is answered: nothing more is written for it."""
    _serving.set(None)


def writes_for(status: int, answer: Any) -> list[Write]:
    """The writes that store `answer` (as the HTTP response sends it: `orjson.dumps(answer)`)
    with `status` as the answer of the idempotent request being served, to go in the unit of
    work of the change it answers. `[]` when no idempotent request is being served or the
    status is not kept (`domain.idempotency.keeps`). The middleware then stores nothing more,
    provided the response is exactly this answer."""
    current = _serving.get()
    if current is None or not idempotency.keeps(status):
        return []
    body = orjson.dumps(answer)
    current.answered = (status, body)
    ticket = current.ticket
    claim = (ticket.scope, ticket.key, ticket.owner, ticket.fingerprint, ticket.created_at, ticket.expires_at)
    return [table.answer_with_change(*claim, status, body)]


def withdraw() -> None:
    """The unit given the last answer did not commit and is being tried again (or given up):
    forget it, so the middleware stores whatever the request finally answers."""
    current = _serving.get()
    if current is not None:
        current.answered = None


@contextmanager
def suspended() -> Iterator[None]:
    """Runs nested use cases (deadlines and charges a clock advance fires) as if no
    idempotent request were being served: their units are not the request's answer."""
    reset = _serving.set(None)
    try:
        yield
    finally:
        _serving.reset(reset)
