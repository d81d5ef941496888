"""Racing pays of one session, served in process on both databases: exactly one payment is
made, and every other pay is refused; a pay racing a cancel has one winner. Also two sessions
services on one database (as two server processes: no shared lock), where only the session's
conditional update keeps the second payment out."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.session_inputs import SessionPayment
from komoju_server.services.sessions import Sessions
from tests.api.payment_support import card, error, order_num
from tests.api.test_payment_races import THREADS, post, race

COMPLETED = error("unprocessable_entity", message="This session has already been completed.")


def new_session(api, **body) -> tuple[dict, str]:
    order = order_num()
    response = api.post(
        "/sessions", json={"amount": 1000, "currency": "JPY", "payment_data": {"external_order_num": order}, **body}
    )
    assert response.status_code == 200, response.text
    return response.json(), order


def payments_of(api, order: str) -> list[dict]:
    return api.get("/payments", params={"external_order_num": order}).json()["data"]


@pytest.mark.parametrize("round_", range(3))
def test_racing_pays_make_exactly_one_payment(api, server, round_):
    session, order = new_session(api)
    answers = race(server, [post(f"/sessions/{session['id']}/pay", {"payment_details": card()})] * THREADS)
    assert Counter(r.status_code for r in answers) == {200: 1, 422: THREADS - 1}, [r.text for r in answers]
    for refused in (r for r in answers if r.status_code == 422):
        assert refused.json() == COMPLETED
    made = payments_of(api, order)
    assert len(made) == 1
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert winner["payment"] == made[0]
    assert api.get(f"/sessions/{session['id']}").json()["payment"] == made[0]


def test_racing_customer_sessions_save_one_customer(api, server):
    session = api.post("/sessions", json={"mode": "customer", "currency": "JPY"}).json()
    before = api.get("/customers").json()["total"]
    answers = race(server, [post(f"/sessions/{session['id']}/pay", {"payment_details": card()})] * THREADS)
    assert Counter(r.status_code for r in answers) == {200: 1, 422: THREADS - 1}
    assert api.get("/customers").json()["total"] == before + 1
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert api.get(f"/sessions/{session['id']}").json()["customer_id"] == winner["customer"]["id"]


def test_a_pay_racing_a_cancel_has_one_winner(api, server):
    for _ in range(4):
        session, order = new_session(api)
        pay_call = post(f"/sessions/{session['id']}/pay", {"payment_details": card()})
        cancel_call = post(f"/sessions/{session['id']}/cancel")
        paid, cancelled = race(server, [pay_call, cancel_call])
        final = api.get(f"/sessions/{session['id']}").json()
        if final["status"] == "completed":
            assert paid.status_code == 200 and cancelled.status_code == 422
            assert len(payments_of(api, order)) == 1
        else:
            assert final["status"] == "cancelled"
            assert cancelled.status_code == 200 and paid.status_code == 422
            assert paid.json() == error("unprocessable_entity", message="This session has been cancelled.")
            assert payments_of(api, order) == []


def test_two_processes_paying_one_session_make_one_payment(api, server):
    """Two sessions services with locks of their own: only the conditional update decides."""
    runtime = server.runtime
    twins = [
        Sessions(
            runtime.store,
            runtime.clock,
            runtime.payments,
            runtime.customers,
            runtime.secure_tokens,
            runtime.scheduler,
        )
        for _ in range(2)
    ]
    caller = Caller(_merchant_id(server), "test", "secret")
    for _ in range(3):
        session, order = new_session(api)

        outcomes = server.run(_pay_with_each(twins, caller, session["id"], server.url))
        refused = [o for o in outcomes if isinstance(o, ApiError)]
        assert len(refused) == 1, outcomes
        assert refused[0].code == "unprocessable_entity"
        assert len(payments_of(api, order)) == 1


async def _pay_with_each(twins: list[Sessions], caller: Caller, session_id: str, base_url: str) -> list[object]:
    pay = SessionPayment(details=card())
    return await asyncio.gather(
        *(twin.pay(caller, session_id, pay, base_url) for twin in twins), return_exceptions=True
    )


def _merchant_id(server) -> str:
    from komoju_server.store import merchants

    row = server.run(merchants.find_key(server.runtime.store, merchants.key_digest(server.secret_key)))
    assert row is not None
    return str(row[1])
