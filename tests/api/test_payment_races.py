"""Concurrent changes to one payment served in process on both databases: parallel refunds never
take more than the total, parallel captures capture once, racing changes have one winner."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api.payment_support import card, created, error, pay, prepaid

THREADS = 8
ROUNDS = 3


def race(server, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Runs each call on its own client (over real HTTP, its own connection), all released at once."""
    clients = [server.client(server.secret_key) for _ in calls]
    for client in clients:  # open the connections before the start line
        assert client.get("/payments", params={"per_page": 1}).status_code == 200
    start = threading.Barrier(len(calls))

    def run(i: int) -> httpx.Response:
        start.wait()
        return calls[i](clients[i])

    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(run, range(len(calls))))
    finally:
        for client in clients:
            client.close()


def post(path: str, body: dict | None = None) -> Callable[[httpx.Client], httpx.Response]:
    return lambda client: client.post(path, json=body)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_parallel_partial_refunds_never_refund_more_than_the_total(api, server, round_):
    payment = created(api, card())  # total 1100
    path = f"/payments/{payment['id']}/refund"
    answers = race(server, [post(path, {"amount": 300})] * THREADS)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 3, 422: THREADS - 3}, [r.text for r in answers]
    for refused in (r for r in answers if r.status_code == 422):
        assert refused.json() == error("not_refundable", "amount")
    final = api.get(f"/payments/{payment['id']}").json()
    assert (final["status"], final["amount_refunded"]) == ("captured", 900)
    assert [r["amount"] for r in final["refunds"]] == [300, 300, 300]
    assert len({r["id"] for r in final["refunds"]}) == 3
    # Each success answered the payment as it was after its own refund.
    assert sorted(r.json()["amount_refunded"] for r in answers if r.status_code == 200) == [300, 600, 900]


def test_parallel_full_refunds_refund_once(api, server):
    payment = created(api, card())
    path = f"/payments/{payment['id']}/refund"
    answers = race(server, [post(path, {})] * THREADS)
    assert Counter(r.status_code for r in answers) == {200: 1, 422: THREADS - 1}
    final = api.get(f"/payments/{payment['id']}").json()
    assert (final["status"], final["amount_refunded"], len(final["refunds"])) == ("refunded", 1100, 1)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_parallel_captures_capture_once(api, server, round_):
    payment = created(api, card(), capture=False)
    path = f"/payments/{payment['id']}/capture"
    answers = race(server, [post(path)] * THREADS)
    assert Counter(r.status_code for r in answers) == {200: 1, 422: THREADS - 1}
    for refused in (r for r in answers if r.status_code == 422):
        assert refused.json() == error("not_capturable")
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert winner["status"] == "captured"
    assert api.get(f"/payments/{payment['id']}").json() == winner


def test_capture_racing_cancel_has_one_winner(api, server):
    for _ in range(ROUNDS):
        payment = created(api, card(), capture=False)
        calls = [post(f"/payments/{payment['id']}/{action}") for action in ("capture", "cancel")] * (THREADS // 2)
        answers = race(server, calls)
        winners = [r.json()["status"] for r in answers if r.status_code == 200]
        assert len(winners) == 1, [r.text for r in answers]
        assert api.get(f"/payments/{payment['id']}").json()["status"] == winners[0]


def test_parallel_prepaid_continuations_use_one_card(api, server):
    pending = pay(api, prepaid("web_money"), amount=3000).json()  # short 1300
    path = f"/payments/{pending['id']}"
    body = {"payment_details": {"prepaid_number": "1111111111111111"}}
    answers = race(server, [lambda c: c.patch(path, json=body)] * THREADS)
    assert Counter(r.status_code for r in answers) == {200: 1, 422: THREADS - 1}
    final = api.get(path).json()
    assert final["status"] == "captured"
    assert final["payment_details"]["prepaid_cards"] == [
        {"last_four_digits": "1111", "points": 2000},
        {"last_four_digits": "1111", "points": 1300},
    ]


def test_many_parallel_refunds_all_take_their_turn(api, server):
    """More racers than a change has attempts: they queue rather than give up with a 409."""
    payment = created(api, card())  # total 1100
    path = f"/payments/{payment['id']}/refund"
    answers = race(server, [post(path, {"amount": 10})] * 24)
    assert Counter(r.status_code for r in answers) == {200: 24}, [r.text for r in answers if r.status_code != 200]
    final = api.get(f"/payments/{payment['id']}").json()
    assert (final["amount_refunded"], len(final["refunds"])) == (240, 24)
