"""GET /events and GET /events/:id: one event per change, newest first, the object as it was."""

from __future__ import annotations

from tests.api.payment_support import ID, TIME, card, created, error, konbini

EMPTY = {"resource": "list", "total": 0, "page": 1, "per_page": 10, "last_page": 0, "data": []}


def event(event_type: str, data: dict) -> dict:
    return {"id": ID, "type": event_type, "resource": "event", "data": data, "created_at": TIME, "reason": None}


def events(client) -> list[dict]:
    response = client.get("/events", params={"per_page": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_new_merchant_has_no_events(merchant_api):
    response = merchant_api.get("/events")
    assert response.status_code == 200
    assert response.json() == EMPTY


def test_a_card_payment_records_payment_captured_holding_the_whole_payment(merchant_api):
    payment = created(merchant_api, card())
    response = merchant_api.get("/events")
    assert response.status_code == 200
    assert response.json() == {
        "resource": "list",
        "total": 1,
        "page": 1,
        "per_page": 10,
        "last_page": 1,
        "data": [event("payment.captured", payment)],
    }
    assert response.json()["data"][0]["created_at"] == payment["created_at"]


def test_a_konbini_payment_is_authorized_then_cancelled_each_event_holding_the_payment_of_its_moment(merchant_api):
    payment = created(merchant_api, konbini())
    assert payment["status"] == "authorized"
    cancelled = merchant_api.post(f"/payments/{payment['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert events(merchant_api) == [event("payment.cancelled", cancelled), event("payment.authorized", payment)]


def test_authorize_capture_and_refunds_record_one_event_per_change(merchant_api):
    authorized = created(merchant_api, card(), amount=1000, capture=False)
    captured = merchant_api.post(f"/payments/{authorized['id']}/capture").json()
    partly = merchant_api.post(f"/payments/{authorized['id']}/refund", json={"amount": 400}).json()
    fully = merchant_api.post(f"/payments/{authorized['id']}/refund").json()
    assert (authorized["status"], captured["status"], partly["status"], fully["status"]) == (
        "authorized",
        "captured",
        "captured",
        "refunded",
    )
    # A refund that empties the payment is both a refund and the payment being refunded.
    assert events(merchant_api) == [
        event("payment.refunded", fully),
        event("payment.refund.created", fully),
        event("payment.refund.created", partly),
        event("payment.captured", captured),
        event("payment.authorized", authorized),
    ]


def test_an_update_records_payment_updated(merchant_api):
    payment = created(merchant_api, konbini())
    updated = merchant_api.patch(f"/payments/{payment['id']}", json={"metadata": {"order": "42"}}).json()
    assert updated["metadata"] == {"order": "42"}
    assert events(merchant_api)[0] == event("payment.updated", updated)


def test_show_answers_the_event_as_listed(merchant_api):
    created(merchant_api, card())
    listed = events(merchant_api)[0]
    response = merchant_api.get(f"/events/{listed['id']}")
    assert response.status_code == 200
    assert response.json() == listed
    assert list(response.json()) == list(listed)  # in the same order: the list carries the stored JSON


def test_an_unknown_event_is_404(merchant_api):
    for path in ("/events/nosuchevent0000000000000", "/events/nosuchevent0000000000000/redeliver"):
        response = merchant_api.get(path) if not path.endswith("redeliver") else merchant_api.post(path)
        assert response.status_code == 404
        assert response.json() == error("not_found")


def test_another_merchants_event_is_404(api, merchant_api):
    created(api, card())
    theirs = events(api)[0]
    assert merchant_api.get(f"/events/{theirs['id']}").status_code == 404
    assert merchant_api.post(f"/events/{theirs['id']}/redeliver").status_code == 404
    assert theirs not in events(merchant_api)


def test_live_keys_see_none_of_the_test_events(server, merchant, merchant_api):
    created(merchant_api, card())
    with server.client(merchant["live_secret_key"]) as live:
        response = live.get("/events")
    assert response.status_code == 200
    assert response.json() == EMPTY


def test_pages_run_newest_first(merchant_api):
    payments = [created(merchant_api, card(), amount=100 + n) for n in range(5)]
    response = merchant_api.get("/events", params={"per_page": 2, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["per_page"], body["last_page"]) == (5, 2, 2, 3)
    assert [e["data"]["amount"] for e in body["data"]] == [payments[2]["amount"], payments[1]["amount"]]
    last = merchant_api.get("/events", params={"per_page": 2, "page": 3}).json()["data"]
    assert [e["data"]["id"] for e in last] == [payments[0]["id"]]
    assert merchant_api.get("/events", params={"per_page": 2, "page": 4}).json()["data"] == []


def test_bad_paging_is_invalid_parameter(merchant_api):
    for name, value in (("per_page", "0"), ("per_page", "101"), ("page", "x")):
        response = merchant_api.get("/events", params={name: value})
        assert response.status_code == 422
        assert response.json() == error("invalid_parameter", name)


def test_a_publishable_key_cannot_read_events(server):
    with server.client(server.publishable_key) as public:
        response = public.get("/events")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
