"""Showing and listing payments as the API answers them, each answer made once per row version.

A payment's answer is its stored document as one API version shows it (`Payment.to_api`),
and nothing else, and every change to a payment writes a new row version
(store/payments.py). So an answer made once holds for as long as its row keeps that version.
A read still fetches the row, and so sees at once a change made by any process or host; it
decodes and answers the document only when this process has not already done so for that
version. Reading the same payments again (a test polling one, the first page of the list)
then costs the row's fetch and a lookup, as for a server that stored its answers.

Answers are kept as their JSON, in an `orjson.Fragment`, which a larger answer (a list's
page) carries without encoding it again.
"""

from __future__ import annotations

import orjson

from komoju_server.domain import versions
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment, PaymentFilter
from komoju_server.store import Store
from komoju_server.store import payments as table

# Answers kept: about 1.5 KB each, a few megabytes (twenty full pages of 100 in each API version).
KEPT = 4096


class PaymentAnswers:
    def __init__(self, store: Store, kept: int = KEPT) -> None:
        self._store = store
        self._answers: dict[tuple[str, int, str], orjson.Fragment] = {}
        self._kept = kept

    def __len__(self) -> int:
        """How many answers are kept."""
        return len(self._answers)

    async def show(self, caller: Caller, payment_id: str) -> orjson.Fragment:
        row = await table.get_row(self._store, caller.scope, payment_id)
        if row is None:
            raise ApiError("not_found")
        return self._answer(payment_id, row[0], row[1], caller.api_version)

    async def page(
        self, caller: Caller, filter_: PaymentFilter, number: int, per_page: int
    ) -> tuple[int, list[orjson.Fragment]]:
        total, rows = await table.page_rows(self._store, caller.scope, filter_, number, per_page)
        version = caller.api_version
        return total, [self._answer(payment_id, row_version, doc, version) for payment_id, row_version, doc in rows]

    def _answer(
        self, payment_id: str, row_version: int, doc: str | bytes, version: versions.ApiVersion
    ) -> orjson.Fragment:
        key = (payment_id, row_version, version.name)
        answer = self._answers.get(key)
        if answer is None:
            answer = orjson.Fragment(orjson.dumps(Payment.from_doc(doc, row_version).to_api(version)))
            if len(self._answers) >= self._kept:  # the oldest made goes first
                del self._answers[next(iter(self._answers))]
            self._answers[key] = answer
        return answer
