"""Refund requests done in the sandbox (this server's extension): KOMOJU's staff make the bank
transfer of a refund request, or refuse it, away from the API; here a test key plays them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.payment_support import BANK_ACCOUNT, card, created, error, konbini, prepaid, refund_object
from tests.webhooks.harness import Receiver, receiver

BANK = BANK_ACCOUNT
SECRET = "whsec-refund-requests"
SETTLED = "This refund request is {} already: only a pending one can be completed or rejected."
LIVE_REFUSED = error("forbidden", None, "The sandbox controls work in test mode only: use a test key.")


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as box:
        yield box


def paid_konbini(client: httpx.Client) -> dict[str, Any]:
    payment = created(client, konbini(), amount=1000)  # total 1100 with tax
    response = client.post(f"/sandbox/payments/{payment['id']}/complete")
    assert response.status_code == 200, response.text
    return response.json()


def request_refund(client: httpx.Client, payment: dict[str, Any], **more: Any) -> dict[str, Any]:
    response = client.post(f"/payments/{payment['id']}/refund_request", json={**BANK, **more})
    assert response.status_code == 200, response.text
    return response.json()


def settle(client: httpx.Client, payment: dict[str, Any], request_id: str, verb: str) -> httpx.Response:
    return client.post(f"/sandbox/payments/{payment['id']}/refund_requests/{request_id}/{verb}")


def events(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/events", params={"per_page": 100})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["data"]))


def test_a_pending_refund_request_stays_pending_until_done(merchant_api):
    payment = paid_konbini(merchant_api)
    requested = request_refund(merchant_api, payment)
    (pending,) = requested["refund_requests"]
    assert pending["status"] == "pending"
    assert (requested["status"], requested["amount_refunded"], requested["refunds"]) == ("captured", 0, [])


def test_completing_the_whole_request_refunds_the_payment_with_refund_events(merchant_api, rx):
    url = rx.url("/hook", SECRET)
    hook = merchant_api.post("/webhooks", json={"url": url, "secret_token": SECRET})
    assert hook.status_code == 200, hook.text
    payment = paid_konbini(merchant_api)
    requested = request_refund(merchant_api, payment, description="returned goods")
    (pending,) = requested["refund_requests"]
    before = len(events(merchant_api))

    response = settle(merchant_api, payment, pending["id"], "complete")
    assert response.status_code == 200, response.text
    done = response.json()
    assert done == {
        **requested,
        "status": "refunded",
        "amount_refunded": 1100,
        "refunds": [refund_object(payment["id"], 1100, "returned goods")],
        "refund_requests": [{**pending, "status": "completed"}],
    }
    assert merchant_api.get(f"/payments/{payment['id']}").json() == done
    # As any refund that empties a payment: payment.refund.created, then payment.refunded.
    new = events(merchant_api)[before:]
    assert [(e["type"], e["data"]) for e in new] == [("payment.refund.created", done), ("payment.refunded", done)]
    got = rx.wait_events("/hook", ["payment.refund.created", "payment.refunded"])
    # Deliveries go out side by side: the payment's earlier events may arrive after these.
    sent = {g.event["type"]: g.event["data"] for g in got}
    assert [sent["payment.refund.created"], sent["payment.refunded"]] == [done, done]
    assert all(g.signed for g in got)


def test_completing_a_partial_request_leaves_the_payment_captured_and_the_rest_requestable(merchant_api):
    payment = paid_konbini(merchant_api)
    first = request_refund(merchant_api, payment, amount=300)["refund_requests"][0]
    done = settle(merchant_api, payment, first["id"], "complete").json()
    assert (done["status"], done["amount_refunded"]) == ("captured", 300)
    assert done["refunds"] == [refund_object(payment["id"], 300)]
    assert [e["type"] for e in events(merchant_api)][-1] == "payment.refund.created"
    # What is left may be asked for again, and no more than that.
    too_much = merchant_api.post(f"/payments/{payment['id']}/refund_request", json={**BANK, "amount": 801})
    assert too_much.status_code == 422
    assert too_much.json() == error("not_refundable", "amount")
    rest = request_refund(merchant_api, payment)["refund_requests"][1]
    assert rest["amount"] == 800
    last = settle(merchant_api, payment, rest["id"], "complete").json()
    assert (last["status"], last["amount_refunded"]) == ("refunded", 1100)
    assert [r["status"] for r in last["refund_requests"]] == ["completed", "completed"]


def test_rejecting_a_request_refunds_nothing_and_frees_its_amount(merchant_api):
    payment = paid_konbini(merchant_api)
    requested = request_refund(merchant_api, payment)
    (pending,) = requested["refund_requests"]
    before = len(events(merchant_api))
    response = settle(merchant_api, payment, pending["id"], "reject")
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert rejected == {**requested, "refund_requests": [{**pending, "status": "rejected"}]}
    assert [(e["type"], e["data"]) for e in events(merchant_api)[before:]] == [("payment.updated", rejected)]
    # While it was pending its amount was taken; rejected, the whole amount may be asked for again.
    again = request_refund(merchant_api, payment)
    assert [(r["status"], r["amount"]) for r in again["refund_requests"]] == [("rejected", 1100), ("pending", 1100)]


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        ("complete", "complete", "completed"),
        ("reject", "complete", "rejected"),
        ("complete", "reject", "completed"),
        ("reject", "reject", "rejected"),
    ],
)
def test_a_request_is_done_once(merchant_api, first, then, status):
    payment = paid_konbini(merchant_api)
    (pending,) = request_refund(merchant_api, payment, amount=100)["refund_requests"]
    once = settle(merchant_api, payment, pending["id"], first)
    assert once.status_code == 200, once.text
    twice = settle(merchant_api, payment, pending["id"], then)
    assert twice.status_code == 422
    assert twice.json() == error("unprocessable_entity", None, SETTLED.format(status))
    assert merchant_api.get(f"/payments/{payment['id']}").json() == once.json()


def test_an_unknown_request_or_payment_is_not_found(merchant_api, api):
    payment = paid_konbini(merchant_api)
    (pending,) = request_refund(merchant_api, payment)["refund_requests"]
    not_found = error("not_found")
    assert settle(merchant_api, payment, "a" * 25, "complete").json() == not_found
    assert settle(merchant_api, {"id": "b" * 25}, pending["id"], "complete").json() == not_found
    # Another merchant's payment is not found either, and stays as it was.
    assert settle(api, payment, pending["id"], "complete").status_code == 404
    assert merchant_api.get(f"/payments/{payment['id']}").json()["refund_requests"][0]["status"] == "pending"


def test_other_methods_that_take_refund_requests_are_done_the_same_way(merchant_api):
    payment = created(merchant_api, prepaid("bit_cash"), amount=500)  # captured at once: 550
    (pending,) = request_refund(merchant_api, payment)["refund_requests"]
    done = settle(merchant_api, payment, pending["id"], "complete").json()
    assert (done["status"], done["amount_refunded"], done["refunds"]) == (
        "refunded",
        550,
        [refund_object(payment["id"], 550)],
    )


def test_a_card_payment_has_no_refund_requests_to_settle(merchant_api):
    payment = created(merchant_api, card())
    assert settle(merchant_api, payment, "a" * 25, "complete").json() == error("not_found")


@pytest.mark.parametrize("verb", ["complete", "reject"])
def test_live_and_publishable_keys_are_refused(server, merchant, verb):
    path = f"/sandbox/payments/{'a' * 25}/refund_requests/{'b' * 25}/{verb}"
    with server.client(merchant["live_secret_key"]) as live:
        response = live.post(path)
    assert response.status_code == 403
    assert response.json() == LIVE_REFUSED
    with server.client(merchant["test_publishable_key"]) as public:
        response = public.post(path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
