"""X-KOMOJU-IDEMPOTENCY served in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.payment_support import card, count, error, pay

KEY = "X-KOMOJU-IDEMPOTENCY"
REPLAYED = "Idempotent-Replayed"
IN_FLIGHT = error(
    "conflict", KEY, "A request with this idempotency key is still being processed. Please try again later."
)
MISMATCH = error(
    "unprocessable_entity",
    KEY,
    "This X-KOMOJU-IDEMPOTENCY key was already used for a different request in the last 24 hours; "
    "send a new key for a new request.",
)
BAD_KEY = error("invalid_parameter", KEY)
DECLINING_CARD = "4123111111111059"


def new_key() -> str:
    return "key-" + uuid.uuid4().hex


def events_total(client: httpx.Client) -> int:
    response = client.get("/events")
    assert response.status_code == 200, response.text
    return response.json()["total"]


def test_a_repeat_gets_the_first_answer_and_nothing_is_done_again(merchant_api):
    headers = {KEY: new_key()}
    first = pay(merchant_api, card(), headers=headers)
    assert first.status_code == 200
    assert REPLAYED not in first.headers
    again = pay(merchant_api, card(), headers=headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers[REPLAYED] == "true"
    assert again.headers["content-type"].startswith("application/json")
    assert count(merchant_api) == 1
    assert events_total(merchant_api) == 1  # one payment.captured


def test_a_form_encoded_repeat_is_replayed_too(merchant_api):
    headers = {KEY: new_key()}
    form = "amount=500&currency=JPY&payment_details[type]=credit_card&payment_details[number]=4111111111111111" + (
        "&payment_details[month]=1&payment_details[year]=2030"
    )
    send = {"content": form, "headers": {**headers, "Content-Type": "application/x-www-form-urlencoded"}}
    first = merchant_api.post("/payments", **send)
    again = merchant_api.post("/payments", **send)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content and again.headers[REPLAYED] == "true"
    assert count(merchant_api) == 1


def test_a_client_error_is_kept_and_replayed(merchant_api):
    headers = {KEY: new_key()}
    first = merchant_api.post("/payments", json={"currency": "JPY", "payment_details": card()}, headers=headers)
    assert first.status_code == 422
    assert first.json() == error("missing_parameter", "amount")
    again = merchant_api.post("/payments", json={"currency": "JPY", "payment_details": card()}, headers=headers)
    assert again.status_code == 422
    assert again.content == first.content
    assert again.headers[REPLAYED] == "true"


def test_a_5xx_answer_is_not_kept_so_the_client_can_retry(merchant_api):
    headers = {KEY: new_key()}
    declined = pay(merchant_api, card(DECLINING_CARD), headers=headers)
    assert declined.status_code == 502
    assert declined.json() == error("card_declined")
    again = pay(merchant_api, card(DECLINING_CARD), headers=headers)
    assert again.status_code == 502
    assert REPLAYED not in again.headers
    # The key is free: the retry with a good card runs, and is kept from then on.
    good = pay(merchant_api, card(), headers=headers)
    assert good.status_code == 200 and REPLAYED not in good.headers
    assert pay(merchant_api, card(), headers=headers).content == good.content
    assert count(merchant_api) == 1


def test_the_same_key_with_a_different_body_is_refused(merchant_api):
    headers = {KEY: new_key()}
    first = pay(merchant_api, card(), amount=1000, headers=headers)
    assert first.status_code == 200
    other = pay(merchant_api, card(), amount=2000, headers=headers)
    assert other.status_code == 422
    assert other.json() == MISMATCH
    assert count(merchant_api) == 1
    # The key still holds the first answer.
    assert pay(merchant_api, card(), amount=1000, headers=headers).content == first.content


def test_the_same_key_on_another_path_is_refused(merchant_api):
    headers = {KEY: new_key()}
    payment = pay(merchant_api, card(), capture=False, headers=headers).json()
    response = merchant_api.post(f"/payments/{payment['id']}/capture", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json() == MISMATCH
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "authorized"


def test_every_post_is_covered_not_only_payments(merchant_api):
    payment = pay(merchant_api, card(), capture=False).json()
    headers = {KEY: new_key()}
    first = merchant_api.post(f"/payments/{payment['id']}/capture", headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "captured"
    again = merchant_api.post(f"/payments/{payment['id']}/capture", headers=headers)
    assert again.status_code == 200  # not 422 not_capturable: the first answer, replayed
    assert again.content == first.content and again.headers[REPLAYED] == "true"


def test_keys_must_be_1_to_100_printable_ascii_characters(merchant_api):
    for bad in ("", "x" * 101, "a\tb"):
        response = pay(merchant_api, card(), headers={KEY: bad})
        assert response.status_code == 422, bad
        assert response.json() == BAD_KEY
    non_ascii = pay(merchant_api, card(), headers={KEY: "キー".encode()})
    assert non_ascii.status_code == 422
    assert non_ascii.json() == BAD_KEY
    assert count(merchant_api) == 0
    longest = pay(merchant_api, card(), headers={KEY: "~ " + "k" * 98})
    assert longest.status_code == 200
    assert count(merchant_api) == 1


def test_only_posts_look_at_the_key(merchant_api):
    response = merchant_api.get("/payments", headers={KEY: "x" * 500})
    assert response.status_code == 200


def test_keys_are_scoped_per_merchant(server, merchant_api, api):
    headers = {KEY: new_key()}
    mine = pay(merchant_api, card(), headers=headers)
    theirs = pay(api, card(), amount=777, headers=headers)  # another merchant, another body
    assert (mine.status_code, theirs.status_code) == (200, 200)
    assert mine.json()["id"] != theirs.json()["id"]
    assert REPLAYED not in theirs.headers


def test_keys_are_scoped_per_mode(server, merchant, merchant_api):
    headers = {KEY: new_key()}
    assert pay(merchant_api, card(), headers=headers).status_code == 200
    with server.client(merchant["live_secret_key"]) as live:
        response = pay(live, card(), amount=5, headers=headers)
    # Live mode has no processor here: its own answer, neither a replay nor a mismatch.
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert REPLAYED not in response.headers


def test_keys_are_kept_24_hours_on_the_merchants_clock(merchant_api):
    headers = {KEY: new_key()}
    first = pay(merchant_api, card(), headers=headers)
    advance = merchant_api.post("/sandbox/clock/advance", json={"seconds": 24 * 3600 - 60})
    assert advance.status_code == 200
    assert pay(merchant_api, card(), headers=headers).content == first.content
    assert merchant_api.post("/sandbox/clock/advance", json={"seconds": 60}).status_code == 200
    later = pay(merchant_api, card(), headers=headers)
    assert later.status_code == 200 and REPLAYED not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert count(merchant_api) == 2


def test_concurrent_identical_requests_make_exactly_one_payment(server, merchant):
    """Many copies of one request at once: one runs, the others get 409 while it runs (or
    its answer once it is stored); never a second payment."""
    copies = 12
    clients = [server.client(merchant["test_secret_key"]) for _ in range(copies)]
    try:
        for client in clients:  # connections open before the race
            assert client.get("/payments", params={"per_page": 1}).status_code == 200
        saw_in_flight = False
        for round_ in range(1, 9):
            key = new_key()
            barrier = threading.Barrier(copies)

            def send(client: httpx.Client, key: str = key, barrier: threading.Barrier = barrier) -> httpx.Response:
                barrier.wait()
                return pay(client, card(), amount=1234, headers={KEY: key})

            with ThreadPoolExecutor(copies) as pool:
                responses = list(pool.map(send, clients))
            answered = [r for r in responses if r.status_code == 200]
            refused = [r for r in responses if r.status_code == 409]
            assert len(answered) + len(refused) == copies, [r.status_code for r in responses]
            assert len(answered) >= 1
            assert len({r.content for r in answered}) == 1
            for response in refused:
                assert response.json() == IN_FLIGHT
                assert response.headers["Retry-After"] == "1"
            assert count(clients[0]) == round_
            replay = pay(clients[0], card(), amount=1234, headers={KEY: key})
            assert replay.content == answered[0].content and replay.headers[REPLAYED] == "true"
            saw_in_flight = saw_in_flight or bool(refused)
            if saw_in_flight and round_ >= 2:
                break
        assert saw_in_flight, "no request ever found the first one still running"
    finally:
        for client in clients:
            client.close()
