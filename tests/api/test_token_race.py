"""One token, many concurrent requests: exactly one of them gets to use it, on both databases."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx

from tests.api.payment_support import error
from tests.api.test_tokens import CARD, token_id

CONCURRENT = 10
INVALID_TOKEN = error("invalid_token", "payment_details", "The token you requested is invalid")


def race(server: Any, path: str, body: dict[str, Any]) -> list[httpx.Response]:
    """POST the same body from CONCURRENT threads, each with its own warmed-up connection,
    released at the same instant."""
    clients = [server.client(server.secret_key) for _ in range(CONCURRENT)]
    for client in clients:
        assert client.get("/payments", params={"per_page": 1}).status_code == 200
    barrier = threading.Barrier(CONCURRENT)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def attempt(client: httpx.Client) -> None:
        barrier.wait()
        response = client.post(path, json=body)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=attempt, args=(client,)) for client in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for client in clients:
            client.close()
    assert len(responses) == CONCURRENT
    return responses


def test_ten_concurrent_payments_with_one_token_make_one_payment(server, api):
    order = "race-" + uuid.uuid4().hex
    token = token_id(api, CARD)
    responses = race(server, "/payments", {"amount": 1000, "currency": "JPY", "payment_details": token,
                                           "external_order_num": order})  # fmt: skip
    won = [r for r in responses if r.status_code == 200]
    lost = [r for r in responses if r.status_code != 200]
    assert len(won) == 1, [r.text for r in responses]
    assert [(r.status_code, r.json()) for r in lost] == [(422, INVALID_TOKEN)] * (CONCURRENT - 1)
    listed = api.get("/payments", params={"external_order_num": order}).json()
    assert listed["total"] == 1
    assert listed["data"][0]["id"] == won[0].json()["id"]


def test_ten_concurrent_customers_with_one_token_make_one_customer(server, api):
    token = token_id(api, CARD)
    responses = race(server, "/customers", {"payment_details": token})
    won = [r for r in responses if r.status_code == 200]
    assert len(won) == 1, [r.text for r in responses]
    lost = [r for r in responses if r.status_code != 200]
    assert [(r.status_code, r.json()) for r in lost] == [(422, INVALID_TOKEN)] * (CONCURRENT - 1)
    assert api.get(f"/customers/{won[0].json()['id']}").status_code == 200
