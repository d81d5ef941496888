"""X-KOMOJU-API-VERSION: the versions KOMOJU documents, the version answered back, an unknown one
refused, and each difference between versions seen over HTTP both ways."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.payment_support import TIME, card, created, konbini, refund_object

HEADER = "X-KOMOJU-API-VERSION"
V2024 = {HEADER: "2024-07-15"}
V2025 = {HEADER: "2025-01-28"}


def card_payment(client: httpx.Client, headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    body = {"amount": 1000, "currency": "JPY", "payment_details": card(), **extra}
    return client.post("/payments", json=body, headers=headers or {})


def capture_of(amount: int, tax: int) -> dict[str, Any]:
    return {"amount": amount, "tax": tax, "total": amount + tax, "currency": "JPY", "captured_at": TIME}


# -- the version answered ------------------------------------------------------------------------


def test_without_the_header_the_default_version_answers(api):
    response = card_payment(api)
    assert response.status_code == 200
    assert response.headers[HEADER] == "2024-07-15"
    assert "captures" not in response.json()


@pytest.mark.parametrize("version", ["2024-07-15", "2025-01-28", " 2025-01-28 "])
def test_a_known_version_is_answered_back(api, version):
    response = api.get("/payments", headers={HEADER: version})
    assert response.status_code == 200
    assert response.headers[HEADER] == version.strip()


def test_errors_say_their_version_too(server):
    with server.client(None) as anyone:
        response = anyone.get("/payments", headers=V2025)
    assert response.status_code == 401
    assert response.headers[HEADER] == "2025-01-28"


@pytest.mark.parametrize("version", ["2023-01-01", "latest", "2025-1-28", "2024-07-15,2025-01-28"])
def test_an_unknown_version_is_refused_and_makes_nothing(merchant_api, version):
    response = card_payment(merchant_api, {HEADER: version})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "bad_request",
            "message": "X-KOMOJU-API-VERSION must be one of 2024-07-15, 2025-01-28.",
            "param": "X-KOMOJU-API-VERSION",
            "details": {"rule": "one_of", "accepted": ["2024-07-15", "2025-01-28"]},
        }
    }
    assert HEADER not in response.headers
    assert merchant_api.get("/payments").json()["total"] == 0


def test_an_unknown_version_is_refused_before_the_key_is_looked_at(server):
    with server.client("sk_test_nobody") as stranger:
        response = stranger.get("/payments", headers={HEADER: "1999-12-31"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


# -- 2025-01-28: the payment's `captures` -------------------------------------------------------


def test_a_captured_payment_lists_its_capture_in_2025_only(api):
    made = card_payment(api, V2025)
    assert made.status_code == 200
    payment = made.json()
    assert payment["status"] == "captured"
    assert payment["captures"] == [capture_of(1000, 100)]
    assert payment["captures"][0]["captured_at"] == payment["captured_at"]
    path = f"/payments/{payment['id']}"
    older = api.get(path, headers=V2024).json()
    assert older == {name: value for name, value in payment.items() if name != "captures"}
    assert api.get(path).json() == older
    assert api.get(path, headers=V2025).json() == payment


def test_nothing_captured_is_an_empty_list_in_2025_and_absent_before(api):
    body = {"amount": 1000, "currency": "JPY", "payment_details": konbini()}
    newer = api.post("/payments", json=body, headers=V2025).json()
    assert newer["status"] == "authorized"
    assert newer["captures"] == []
    assert "captures" not in api.post("/payments", json=body, headers=V2024).json()


def test_a_partial_capture_is_a_capture_not_a_refund_in_2025(api):
    payment = created(api, card(), amount=1000, capture=False)
    captured = api.post(f"/payments/{payment['id']}/capture", json={"amount": 600}, headers=V2025).json()
    assert (captured["status"], captured["amount"], captured["tax"], captured["total"]) == ("captured", 600, 60, 660)
    assert captured["captures"] == [capture_of(600, 60)]
    assert (captured["amount_refunded"], captured["refunds"]) == (0, [])
    assert "captures" not in api.post(f"/payments/{payment['id']}/refund", json={"amount": 100}).json()
    refunded = api.get(f"/payments/{payment['id']}", headers=V2025).json()
    assert refunded["captures"] == [capture_of(600, 60)]
    assert refunded["amount_refunded"] == 100


def test_lists_answer_in_the_requested_version(merchant_api):
    card_payment(merchant_api)
    newer = merchant_api.get("/payments", headers=V2025).json()["data"]
    older = merchant_api.get("/payments", headers=V2024).json()["data"]
    assert [p["captures"] for p in newer] == [[capture_of(1000, 100)]]
    assert all("captures" not in p for p in older)


def test_events_have_one_shape_whatever_the_request_asked(api):
    payment = card_payment(api, V2025).json()
    events = api.get("/events", headers=V2025).json()["data"]
    captured = [e for e in events if e["type"] == "payment.captured" and e["data"]["id"] == payment["id"]]
    assert len(captured) == 1
    assert "captures" not in captured[0]["data"]
    assert captured[0]["data"] == {name: value for name, value in payment.items() if name != "captures"}


def test_an_idempotent_repeat_answers_what_was_first_answered(api):
    headers = {**V2025, "X-KOMOJU-IDEMPOTENCY": "versions-replay-1"}
    first = card_payment(api, headers)
    again = card_payment(api, headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["captures"] == [capture_of(1000, 100)]


# -- 2024-07-15 (the default): a partial capture keeps the authorized amount --------------------


def released(payment_id: str, amount: int, at: str) -> dict[str, Any]:
    return refund_object(payment_id, amount, created_at=at)


def test_before_2025_a_partial_capture_shows_the_released_rest_as_a_refund(merchant_api):
    payment = created(merchant_api, card(), amount=1000, capture=False)
    pid = payment["id"]
    older = merchant_api.post(f"/payments/{pid}/capture", json={"amount": 600}).json()
    at = older["captured_at"]
    assert older == {
        **payment,
        "status": "captured",
        "captured_at": TIME,
        "amount": 1000,
        "tax": 100,
        "total": 1100,
        "amount_refunded": 440,
        "refunds": [released(pid, 440, at)],
    }
    newer = merchant_api.get(f"/payments/{pid}", headers=V2025).json()
    assert (newer["amount"], newer["tax"], newer["total"], newer["amount_refunded"]) == (600, 60, 660, 0)
    assert (newer["refunds"], newer["captures"]) == ([], [capture_of(600, 60)])
    # The released rest is the same refund, under the same id, every time it is read.
    assert merchant_api.get(f"/payments/{pid}", headers=V2024).json() == older
    assert merchant_api.get(f"/payments/{pid}").json() == older


def test_before_2025_refunds_after_a_partial_capture_add_up_to_the_authorized_total(merchant_api):
    payment = created(merchant_api, card(), amount=1000, capture=False)
    pid = payment["id"]
    merchant_api.post(f"/payments/{pid}/capture", json={"amount": 600})
    first = merchant_api.post(f"/payments/{pid}/refund", json={"amount": 100}).json()
    assert (first["status"], first["total"], first["amount_refunded"]) == ("captured", 1100, 540)
    assert [r["amount"] for r in first["refunds"]] == [440, 100]
    rest = merchant_api.post(f"/payments/{pid}/refund", json={}).json()
    assert (rest["status"], rest["total"], rest["amount_refunded"]) == ("refunded", 1100, 1100)
    assert [r["amount"] for r in rest["refunds"]] == [440, 100, 560]
    newer = merchant_api.get(f"/payments/{pid}", headers=V2025).json()
    assert (newer["status"], newer["total"], newer["amount_refunded"]) == ("refunded", 660, 660)
    assert [r["amount"] for r in newer["refunds"]] == [100, 560]


def test_a_whole_capture_looks_the_same_in_both_versions_but_for_captures(api):
    payment = created(api, card(), amount=1000, capture=False)
    whole = api.post(f"/payments/{payment['id']}/capture", headers=V2025).json()
    older = api.get(f"/payments/{payment['id']}", headers=V2024).json()
    assert older == {name: value for name, value in whole.items() if name != "captures"}
    assert (older["amount_refunded"], older["refunds"]) == (0, [])


def test_a_partial_capture_event_holds_what_was_captured_in_every_version(merchant_api):
    payment = created(merchant_api, card(), amount=1000, capture=False)
    newer = merchant_api.post(f"/payments/{payment['id']}/capture", json={"amount": 600}, headers=V2025).json()
    events = merchant_api.get("/events", params={"per_page": 1}).json()["data"]
    assert events[0]["type"] == "payment.captured"
    # No released rest among the refunds: a receiver recording refunds from events records none.
    assert events[0]["data"] == {name: value for name, value in newer.items() if name != "captures"}
    assert (events[0]["data"]["amount_refunded"], events[0]["data"]["refunds"]) == (0, [])
