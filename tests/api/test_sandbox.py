"""The sandbox controls (this server's extension) served in process, on SQLite and PostgreSQL:
completing and failing payments, the merchant's clock and the deadlines it passes, reset,
maintenance, and the refusal of live keys."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api.payment_support import TIME, card, count, created, error, konbini, parse_time

NAMES = {
    "given_name": "Taro",
    "family_name": "Yamada",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "09012345678",
    "email": "buyer@example.com",
}
NOT_COMPLETABLE = (
    "Only konbini, bank transfer, Pay-easy and redirect payments are completed by the customer; "
    "capture a card payment with POST /payments/:id/capture, continue a prepaid one with PATCH /payments/:id."
)
LIVE_REFUSED = error("forbidden", None, "The sandbox controls work in test mode only: use a test key.")
UNAVAILABLE = error("service_unavailable", None, "The server is down for maintenance. Please try again later.")
DAY = 86_400


def bank_transfer() -> dict[str, Any]:
    return {"type": "bank_transfer", **NAMES}


def pay_easy() -> dict[str, Any]:
    return {"type": "pay_easy", **NAMES}


def seconds_between(later: str, earlier: str) -> int:
    return int((parse_time(later) - parse_time(earlier)).total_seconds())


def plus(moment: str, seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(parse_time(moment).timestamp() + seconds))


def events(client: httpx.Client) -> list[dict[str, Any]]:
    """Every event of the merchant, oldest first."""
    response = client.get("/events", params={"per_page": 100})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["data"]))


def clock(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/sandbox/clock")
    assert response.status_code == 200, response.text
    return response.json()


def advance(client: httpx.Client, seconds: Any) -> httpx.Response:
    return client.post("/sandbox/clock/advance", json={"seconds": seconds})


# -- completing and failing -------------------------------------------------------------------


@pytest.mark.parametrize("details", [konbini(), bank_transfer(), pay_easy(), {"type": "line_pay"}])
def test_complete_captures_what_the_customer_finishes_away_from_the_api(merchant_api, details):
    payment = created(merchant_api, details)
    assert payment["status"] == "authorized"
    response = merchant_api.post(f"/sandbox/payments/{payment['id']}/complete")
    assert response.status_code == 200
    done = response.json()
    assert done == {**payment, "status": "captured", "captured_at": TIME}
    assert parse_time(done["captured_at"]) >= parse_time(payment["created_at"])
    assert merchant_api.get(f"/payments/{payment['id']}").json() == done
    last = events(merchant_api)[-1]
    assert (last["type"], last["data"], last["created_at"]) == ("payment.captured", done, done["captured_at"])


def test_complete_refuses_what_the_customer_does_not_finish(merchant_api):
    authorization = created(merchant_api, card(), capture=False)
    response = merchant_api.post(f"/sandbox/payments/{authorization['id']}/complete")
    assert response.status_code == 422
    assert response.json() == error("not_capturable", None, NOT_COMPLETABLE)
    slip = created(merchant_api, konbini())
    assert merchant_api.post(f"/sandbox/payments/{slip['id']}/complete").status_code == 200
    twice = merchant_api.post(f"/sandbox/payments/{slip['id']}/complete")
    assert twice.status_code == 422
    assert twice.json() == error("not_capturable")
    missing = merchant_api.post("/sandbox/payments/nosuchpayment0000000000000/complete")
    assert missing.status_code == 404
    assert missing.json() == error("not_found")


def test_fail_marks_an_open_payment_failed(merchant_api):
    payment = created(merchant_api, konbini())
    response = merchant_api.post(f"/sandbox/payments/{payment['id']}/fail")
    assert response.status_code == 200
    assert response.json() == {**payment, "status": "failed"}
    last = events(merchant_api)[-1]
    assert (last["type"], last["data"]["status"]) == ("payment.failed", "failed")
    again = merchant_api.post(f"/sandbox/payments/{payment['id']}/fail")
    assert again.status_code == 422
    assert again.json() == error("not_cancellable")
    captured = created(merchant_api, card())
    assert merchant_api.post(f"/sandbox/payments/{captured['id']}/fail").json() == error("not_cancellable")


def test_a_payment_past_its_deadline_cannot_be_completed(merchant_api):
    payment = created(merchant_api, konbini(expiry_days=0))
    assert advance(merchant_api, DAY).status_code == 200
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "expired"
    response = merchant_api.post(f"/sandbox/payments/{payment['id']}/complete")
    assert response.json() == error("not_capturable")


# -- the clock and deadlines ------------------------------------------------------------------


def test_the_clock_starts_at_real_time(merchant_api):
    answer = clock(merchant_api)
    assert answer == {"resource": "sandbox_clock", "now": TIME, "offset": 0}
    assert abs(parse_time(answer["now"]).timestamp() - time.time()) < 5


def test_advancing_expires_konbini_bank_transfer_and_pay_easy_in_deadline_order(merchant_api):
    bank = created(merchant_api, bank_transfer())  # 14 days
    slip = created(merchant_api, konbini())  # 3 days
    easy = created(merchant_api, pay_easy())  # 10 days
    paid_slip = created(merchant_api, konbini())
    merchant_api.post(f"/sandbox/payments/{paid_slip['id']}/complete")
    paid_card = created(merchant_api, card())
    before = len(events(merchant_api))
    start = clock(merchant_api)

    response = advance(merchant_api, 15 * DAY)
    assert response.status_code == 200
    moved = response.json()
    assert moved == {"resource": "sandbox_clock", "now": TIME, "offset": 15 * DAY}
    assert 15 * DAY <= seconds_between(moved["now"], start["now"]) <= 15 * DAY + 5

    expired = events(merchant_api)[before:]
    assert [(e["type"], e["data"]["id"]) for e in expired] == [
        ("payment.expired", slip["id"]),
        ("payment.expired", easy["id"]),
        ("payment.expired", bank["id"]),
    ]
    for event, payment in zip(expired, (slip, easy, bank), strict=True):
        now = merchant_api.get(f"/payments/{payment['id']}").json()
        assert now == {**payment, "status": "expired"}
        assert event["data"] == now
        assert event["created_at"] == plus(payment["payment_deadline"], 1)  # as of the deadline
    assert merchant_api.get(f"/payments/{paid_slip['id']}").json()["status"] == "captured"
    assert merchant_api.get(f"/payments/{paid_card['id']}").json()["status"] == "captured"


def test_an_uncaptured_card_authorization_expires_at_its_deadline_too(merchant_api):
    authorization = created(merchant_api, card(), capture=False)
    assert authorization["payment_deadline"] is not None  # 7 days to capture
    advance(merchant_api, 8 * DAY)
    assert merchant_api.get(f"/payments/{authorization['id']}").json()["status"] == "expired"
    capture = merchant_api.post(f"/payments/{authorization['id']}/capture")
    assert capture.json() == error("not_capturable")


def test_a_deadline_fires_only_once_passed(merchant_api):
    payment = created(merchant_api, konbini())
    to_deadline = seconds_between(payment["payment_deadline"], clock(merchant_api)["now"])
    assert advance(merchant_api, to_deadline - 5).status_code == 200
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "authorized"
    assert advance(merchant_api, 10).status_code == 200
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "expired"
    assert [e["type"] for e in events(merchant_api)] == ["payment.authorized", "payment.expired"]


def test_a_deadline_passes_on_its_own_while_the_server_runs(merchant_api):
    """No advance passes this deadline: the background scheduler does, at its (offset) time."""
    payment = created(merchant_api, konbini())
    to_deadline = seconds_between(payment["payment_deadline"], clock(merchant_api)["now"])
    assert advance(merchant_api, to_deadline - 2).status_code == 200
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "authorized"
    deadline = time.monotonic() + 20
    while merchant_api.get(f"/payments/{payment['id']}").json()["status"] != "expired":
        assert time.monotonic() < deadline, "the payment did not expire on its own"
        time.sleep(0.2)
    last = events(merchant_api)[-1]
    assert (last["type"], last["created_at"]) == ("payment.expired", plus(payment["payment_deadline"], 1))


def test_new_objects_are_dated_by_the_merchants_clock(merchant_api, api):
    moved = advance(merchant_api, 30 * DAY).json()
    payment = created(merchant_api, konbini())
    assert 0 <= seconds_between(payment["created_at"], moved["now"]) <= 5
    assert payment["payment_deadline"] > plus(moved["now"], 2 * DAY)
    # Another merchant's clock did not move.
    theirs = created(api, card())
    assert abs(parse_time(theirs["created_at"]).timestamp() - time.time()) < 5


def test_advance_takes_a_bounded_positive_whole_number_of_seconds(merchant_api):
    assert merchant_api.post("/sandbox/clock/advance", json={}).json() == error("missing_parameter", "seconds")
    for bad in (0, -1, 1.5, "1.5", "abc", True, 366 * DAY + 1, [1], {"a": 1}):
        response = advance(merchant_api, bad)
        assert response.status_code == 422, bad
        assert response.json() == error("invalid_parameter", "seconds")
    assert clock(merchant_api)["offset"] == 0
    as_text = merchant_api.post("/sandbox/clock/advance", data={"seconds": "3600"})
    assert as_text.status_code == 200 and as_text.json()["offset"] == 3600
    assert advance(merchant_api, 366 * DAY).json()["offset"] == 3600 + 366 * DAY


# -- reset ------------------------------------------------------------------------------------


def test_reset_erases_the_merchants_test_data_and_only_that(merchant_api, api):
    created(merchant_api, konbini())
    created(merchant_api, card(), headers={"X-KOMOJU-IDEMPOTENCY": "reset-me"})
    assert merchant_api.post("/customers", json={"payment_details": card()}).status_code == 200
    assert merchant_api.post("/tokens", json={"payment_details": card()}).status_code == 200
    advance(merchant_api, DAY)
    theirs = count(api)
    response = merchant_api.post("/sandbox/reset")
    assert response.status_code == 200
    answer = response.json()
    assert answer["resource"] == "sandbox_reset"
    assert answer["erased"]["payments"] == 2
    assert answer["erased"]["events"] == 3  # payment.authorized, payment.captured, customer.created
    assert (answer["erased"]["customers"], answer["erased"]["tokens"]) == (1, 1)
    assert answer["erased"]["timers"] == 1
    assert answer["erased"]["idempotency_keys"] == 1
    assert count(merchant_api) == 0
    assert merchant_api.get("/events").json()["total"] == 0
    assert merchant_api.get("/customers").json()["total"] == 0
    assert clock(merchant_api)["offset"] == 0
    assert count(api) == theirs
    # The list positions start over, and the used key is free again.
    again = created(merchant_api, card(), headers={"X-KOMOJU-IDEMPOTENCY": "reset-me"})
    assert merchant_api.get("/payments").json()["data"] == [again]


# -- maintenance ----------------------------------------------------------------------------


def test_a_merchant_can_put_its_test_mode_in_maintenance(server, merchant, merchant_api, api):
    on = merchant_api.post("/sandbox/maintenance", json={"enabled": True})
    assert on.status_code == 200
    assert on.json() == {"resource": "sandbox_maintenance", "enabled": True}
    for response in (merchant_api.get("/payments"), merchant_api.post("/payments", json={})):
        assert response.status_code == 503
        assert response.json() == UNAVAILABLE
    assert clock(merchant_api)["offset"] == 0  # the sandbox stays reachable
    assert api.get("/payments").status_code == 200  # other merchants are not affected
    with server.client(merchant["live_secret_key"]) as live:
        assert live.get("/payments").status_code == 200  # nor is live mode
    off = merchant_api.post("/sandbox/maintenance", data={"enabled": "false"})
    assert off.json() == {"resource": "sandbox_maintenance", "enabled": False}
    assert merchant_api.get("/payments").status_code == 200


def test_maintenance_needs_enabled(merchant_api):
    assert merchant_api.post("/sandbox/maintenance", json={}).json() == error("missing_parameter", "enabled")
    assert merchant_api.post("/sandbox/maintenance", json={"enabled": "maybe"}).json() == error(
        "invalid_parameter", "enabled"
    )


# -- who may ----------------------------------------------------------------------------------

CONTROLS = [
    ("POST", "/sandbox/payments/abc/complete", None),
    ("POST", "/sandbox/payments/abc/fail", None),
    ("GET", "/sandbox/clock", None),
    ("POST", "/sandbox/clock/advance", {"seconds": 60}),
    ("POST", "/sandbox/reset", None),
    ("POST", "/sandbox/maintenance", {"enabled": True}),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROLS)
def test_live_keys_are_refused(server, merchant, method, path, body):
    with server.client(merchant["live_secret_key"]) as live:
        response = live.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json() == LIVE_REFUSED


@pytest.mark.parametrize(("method", "path", "body"), CONTROLS)
def test_publishable_keys_are_refused(server, merchant, method, path, body):
    with server.client(merchant["test_publishable_key"]) as public:
        response = public.request(method, path, json=body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
