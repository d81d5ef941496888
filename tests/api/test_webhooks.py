"""/webhooks (this server's extension) and the deliveries a real receiver gets from them.

The receiver is an HTTP server in the test process; it checks every delivery's signature with
the secret token its endpoint was created with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.api.payment_support import ID, TIME, card, created, error, konbini
from tests.webhooks.harness import Receiver, receiver

SECRET = "whsec-test-token"


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as box:
        yield box


def webhook(client, url: str, secret: str = SECRET, **extra) -> dict:
    response = client.post("/webhooks", json={"url": url, "secret_token": secret, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def deliveries(client, path: str) -> list[dict]:
    response = client.get(path, params={"per_page": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def settled_deliveries(client, path: str, seconds: float = 10) -> list[dict]:
    """The deliveries once none is pending: the receiver may see a request before the worker
    has recorded its answer."""
    deadline = time.monotonic() + seconds
    while True:
        listed = deliveries(client, path)
        if all(d["status"] != "pending" for d in listed) or time.monotonic() > deadline:
            return listed
        time.sleep(0.02)


def signed_and_sound(got) -> None:
    """What every delivery must be: signed with the endpoint's secret, KOMOJU's headers, an event."""
    assert got.signed is True
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Komoju-Webhook"
    assert got.headers["x-komoju-event"] == got.event["type"]
    assert got.headers["x-komoju-id"] == ID
    assert set(got.event) == {"id", "type", "resource", "data", "created_at", "reason"}
    assert got.event["resource"] == "event"


# -- endpoints ---------------------------------------------------------------------------------


def test_create_answers_the_webhook_without_its_secret(merchant_api, rx):
    url = rx.url("/one", SECRET)
    response = merchant_api.post(
        "/webhooks", json={"url": url, "secret_token": SECRET, "events": ["payment.captured", "payment.refunded"]}
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": ID,
        "resource": "webhook",
        "url": url,
        "events": ["payment.captured", "payment.refunded"],
        "created_at": TIME,
    }
    assert SECRET not in response.text


def test_show_list_and_delete(merchant_api, rx):
    first = webhook(merchant_api, rx.url("/a", SECRET))
    second = webhook(merchant_api, rx.url("/b", SECRET))
    assert first["events"] is None  # every event
    assert merchant_api.get(f"/webhooks/{first['id']}").json() == first
    listed = merchant_api.get("/webhooks")
    assert listed.json() == {
        "resource": "list",
        "total": 2,
        "page": 1,
        "per_page": 10,
        "last_page": 1,
        "data": [second, first],
    }
    deleted = merchant_api.delete(f"/webhooks/{first['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == first
    for response in (
        merchant_api.get(f"/webhooks/{first['id']}"),
        merchant_api.delete(f"/webhooks/{first['id']}"),
        merchant_api.get(f"/webhooks/{first['id']}/deliveries"),
    ):
        assert response.status_code == 404
        assert response.json() == error("not_found")
    assert merchant_api.get("/webhooks").json()["data"] == [second]


def test_a_form_encoded_webhook_with_an_events_filter(merchant_api, rx):
    url = rx.url("/form", SECRET)
    response = merchant_api.post(
        "/webhooks",
        content=f"url={url}&secret_token={SECRET}&events[]=payment.captured&events[]=payment.expired",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["events"] == ["payment.captured", "payment.expired"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"secret_token": SECRET}, error("missing_parameter", "url")),
        ({"url": "", "secret_token": SECRET}, error("missing_parameter", "url")),
        ({"url": "ftp://example.com/hook", "secret_token": SECRET}, error("invalid_parameter", "url")),
        ({"url": "not a url", "secret_token": SECRET}, error("invalid_parameter", "url")),
        ({"url": "https://example.com/hook"}, error("missing_parameter", "secret_token")),
        ({"url": "https://example.com/hook", "secret_token": 12345}, error("invalid_parameter", "secret_token")),
        ({"url": "https://example.com/hook", "secret_token": "x" * 256}, error("invalid_parameter", "secret_token")),
        (
            {"url": "https://example.com/hook", "secret_token": SECRET, "events": ["payment.nope"]},
            error("invalid_parameter", "events"),
        ),
        (
            {"url": "https://example.com/hook", "secret_token": SECRET, "events": []},
            error("invalid_parameter", "events"),
        ),
        (
            {"url": "https://example.com/hook", "secret_token": SECRET, "events": {"a": "payment.captured"}},
            error("invalid_parameter", "events"),
        ),
    ],
)
def test_create_refuses_what_is_missing_or_wrong(merchant_api, body, expected):
    response = merchant_api.post("/webhooks", json=body)
    assert response.status_code == 422
    assert response.json() == expected
    assert merchant_api.get("/webhooks").json()["total"] == 0


def test_endpoints_belong_to_their_merchant(api, merchant_api, rx):
    mine = webhook(merchant_api, rx.url("/mine", SECRET))
    assert api.get(f"/webhooks/{mine['id']}").status_code == 404
    assert api.delete(f"/webhooks/{mine['id']}").status_code == 404
    assert api.get(f"/webhooks/{mine['id']}/deliveries").status_code == 404
    assert mine not in api.get("/webhooks", params={"per_page": 100}).json()["data"]


def test_a_publishable_key_cannot_manage_webhooks(server):
    with server.client(server.publishable_key) as public:
        for response in (public.get("/webhooks"), public.post("/webhooks", json={})):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"


# -- deliveries --------------------------------------------------------------------------------


def test_creating_a_webhook_sends_it_a_signed_ping(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/ping", SECRET), events=["payment.captured"])
    (got,) = rx.wait_events("/ping", ["ping"])
    signed_and_sound(got)
    ping = merchant_api.get(f"/events/{got.event['id']}").json()
    assert got.event == ping
    assert ping == {"id": ID, "type": "ping", "resource": "event", "data": hook, "created_at": TIME, "reason": None}
    (delivery,) = settled_deliveries(merchant_api, f"/webhooks/{hook['id']}/deliveries")
    assert delivery == {
        "id": got.delivery_id,
        "resource": "webhook_delivery",
        "event": ping["id"],
        "event_type": "ping",
        "webhook": hook["id"],
        "url": hook["url"],
        "status": "succeeded",
        "next_attempt_at": None,
        "attempts": [
            {
                "number": 1,
                "status": "succeeded",
                "response_code": 200,
                "error": None,
                "attempted_at": TIME,
                "duration_ms": delivery["attempts"][0]["duration_ms"],
            }
        ],
        "created_at": TIME,
    }
    assert isinstance(delivery["attempts"][0]["duration_ms"], int)


def test_the_receiver_sees_a_konbini_payment_authorized_then_paid_and_another_expired(merchant_api, rx):
    webhook(merchant_api, rx.url("/konbini", SECRET))
    paid = created(merchant_api, konbini())
    lapsed = created(merchant_api, konbini(expiry_days=0))
    captured = merchant_api.post(f"/sandbox/payments/{paid['id']}/complete")  # the customer pays
    assert captured.status_code == 200, captured.text
    advance = merchant_api.post("/sandbox/clock/advance", json={"seconds": 86_400})  # the other lapses
    assert advance.status_code == 200, advance.text
    expired = merchant_api.get(f"/payments/{lapsed['id']}").json()
    assert (captured.json()["status"], expired["status"]) == ("captured", "expired")
    got = rx.wait_events("/konbini", ["ping", "payment.authorized", "payment.captured", "payment.expired"])
    for each in got:
        signed_and_sound(each)
    life = {(g.event["type"], g.event["data"]["id"]): g.event for g in got if g.event["type"] != "ping"}
    assert set(life) == {
        ("payment.authorized", paid["id"]),
        ("payment.authorized", lapsed["id"]),
        ("payment.captured", paid["id"]),
        ("payment.expired", lapsed["id"]),
    }
    assert len(got) == 5  # and the ping
    assert life[("payment.authorized", paid["id"])]["data"] == paid
    assert life[("payment.captured", paid["id"])]["data"] == captured.json()
    assert life[("payment.expired", lapsed["id"])]["data"] == expired
    # The body is the stored event, byte for byte what GET /events/:id answers.
    event = life[("payment.captured", paid["id"])]
    assert event == merchant_api.get(f"/events/{event['id']}").json()


def test_the_receiver_sees_a_konbini_payment_cancelled(merchant_api, rx):
    webhook(merchant_api, rx.url("/cancelled", SECRET))
    payment = created(merchant_api, konbini())
    cancelled = merchant_api.post(f"/payments/{payment['id']}/cancel").json()
    got = rx.wait_events("/cancelled", ["payment.authorized", "payment.cancelled"])
    for each in got:
        signed_and_sound(each)
    assert {g.event["type"]: g.event["data"] for g in got}["payment.cancelled"] == cancelled


def test_the_receiver_sees_a_card_payment_authorized_captured_and_refunded(merchant_api, rx):
    webhook(merchant_api, rx.url("/card", SECRET))
    payment = created(merchant_api, card(), capture=False)
    merchant_api.post(f"/payments/{payment['id']}/capture")
    merchant_api.post(f"/payments/{payment['id']}/refund")
    types = ["payment.authorized", "payment.captured", "payment.refund.created", "payment.refunded"]
    got = rx.wait_events("/card", types)
    for each in got:
        signed_and_sound(each)
    assert sorted(g.event["type"] for g in got) == sorted(["ping", *types])
    assert len({g.delivery_id for g in got}) == len(got)
    assert {g.event["data"]["id"] for g in got if g.event["type"] != "ping"} == {payment["id"]}


def test_a_sandbox_reset_erases_deliveries_and_keeps_the_webhooks(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/reset", SECRET))
    created(merchant_api, card())
    rx.wait_events("/reset", ["ping", "payment.captured"])
    answer = merchant_api.post("/sandbox/reset").json()
    assert (answer["erased"]["webhook_deliveries"], answer["erased"]["webhook_attempts"]) == (2, 2)
    assert merchant_api.get(f"/webhooks/{hook['id']}").json() == hook
    assert deliveries(merchant_api, f"/webhooks/{hook['id']}/deliveries") == []
    created(merchant_api, card())
    rx.wait_for(lambda got: [g.event["type"] for g in got].count("payment.captured") == 2)


def test_an_events_filter_sends_only_those_types(merchant_api, rx):
    only = webhook(merchant_api, rx.url("/only", SECRET), events=["payment.captured"])
    every = webhook(merchant_api, rx.url("/every", "another-secret"), secret="another-secret")
    payment = created(merchant_api, card(), capture=False)
    merchant_api.post(f"/payments/{payment['id']}/capture")
    rx.wait_events("/every", ["ping", "payment.authorized", "payment.captured"])
    rx.wait_events("/only", ["ping", "payment.captured"])
    for got in rx.received():
        signed_and_sound(got)
    # Deliveries are written with their event, so what the lists hold is all there will be.
    assert [d["event_type"] for d in deliveries(merchant_api, f"/webhooks/{only['id']}/deliveries")] == [
        "payment.captured",
        "ping",
    ]
    assert [d["event_type"] for d in deliveries(merchant_api, f"/webhooks/{every['id']}/deliveries")] == [
        "payment.captured",
        "payment.authorized",
        "ping",
    ]


def test_each_endpoint_signs_with_its_own_secret(merchant_api, rx):
    webhook(merchant_api, rx.url("/first", "first-secret"), secret="first-secret")
    webhook(merchant_api, rx.url("/second", "second-secret"), secret="second-secret")
    created(merchant_api, card())
    first = rx.wait_events("/first", ["payment.captured"])
    second = rx.wait_events("/second", ["payment.captured"])
    assert all(g.signed for g in first + second)
    captured = [g for g in first + second if g.event["type"] == "payment.captured"]
    assert captured[0].body == captured[1].body
    assert captured[0].headers["x-komoju-signature"] != captured[1].headers["x-komoju-signature"]


def test_a_deleted_webhook_gets_nothing_more(merchant_api, rx):
    gone = webhook(merchant_api, rx.url("/gone", SECRET))
    rx.wait_events("/gone", ["ping"])
    merchant_api.delete(f"/webhooks/{gone['id']}")
    kept = webhook(merchant_api, rx.url("/kept", SECRET))
    created(merchant_api, card())
    rx.wait_events("/kept", ["payment.captured"])
    event_id = merchant_api.get("/events").json()["data"][0]["id"]
    assert [d["webhook"] for d in deliveries(merchant_api, f"/events/{event_id}/deliveries")] == [kept["id"]]
    assert [g.event["type"] for g in rx.received("/gone")] == ["ping"]


def test_per_payment_webhook_urls_get_the_payments_events(merchant_api, rx):
    # This server runs without --webhook-secret: a payment's own URLs have no secret to sign with.
    url = rx.url("/per-payment")
    payment = created(merchant_api, konbini(), webhooks=[url])
    merchant_api.post(f"/payments/{payment['id']}/cancel")
    got = rx.wait_events("/per-payment", ["payment.authorized", "payment.cancelled"])
    assert [g.event["type"] for g in got].count("payment.authorized") == 1
    for each in got:
        assert "x-komoju-signature" not in each.headers
        assert each.headers["user-agent"] == "Komoju-Webhook"
        assert each.event["data"]["id"] == payment["id"]
    event_id = got[0].event["id"]
    (delivery,) = settled_deliveries(merchant_api, f"/events/{event_id}/deliveries")
    assert (delivery["url"], delivery["webhook"], delivery["status"]) == (url, None, "succeeded")


def test_redeliver_sends_the_event_again_as_a_new_delivery(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/again", SECRET))
    payment_url = rx.url("/again-payment")
    created(merchant_api, card(), webhooks=[payment_url])
    (first,) = [g for g in rx.wait_events("/again", ["payment.captured"]) if g.event["type"] == "payment.captured"]
    rx.wait_events("/again-payment", ["payment.captured"])
    event_id = first.event["id"]
    response = merchant_api.post(f"/events/{event_id}/redeliver")
    assert response.status_code == 200
    assert response.json() == first.event

    def twice(got) -> bool:
        return sum(1 for g in got if g.event["id"] == event_id) == 4

    rx.wait_for(twice)
    again = [g for g in rx.received("/again") if g.event["id"] == event_id]
    assert [g.body for g in again] == [first.body, first.body]
    assert again[1].delivery_id != first.delivery_id
    assert again[1].signed is True
    # The payment's own URL is sent the event again too.
    assert len([g for g in rx.received("/again-payment") if g.event["id"] == event_id]) == 2
    listed = deliveries(merchant_api, f"/webhooks/{hook['id']}/deliveries")
    assert [d["event"] for d in listed[:2]] == [event_id, event_id]
    assert len(deliveries(merchant_api, f"/events/{event_id}/deliveries")) == 4


def test_redelivering_a_ping_pings_its_webhook_alone(merchant_api, rx):
    pinged = webhook(merchant_api, rx.url("/pinged", SECRET))
    (ping,) = rx.wait_events("/pinged", ["ping"])
    webhook(merchant_api, rx.url("/other", SECRET))
    rx.wait_events("/other", ["ping"])
    assert merchant_api.post(f"/events/{ping.event['id']}/redeliver").status_code == 200
    rx.wait_for(lambda got: len([g for g in got if g.path == "/pinged"]) == 2)
    assert len(rx.received("/other")) == 1
    assert [d["event_type"] for d in deliveries(merchant_api, f"/webhooks/{pinged['id']}/deliveries")] == [
        "ping",
        "ping",
    ]


def test_deliveries_page_newest_first(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/paged", SECRET))
    for amount in (101, 102, 103):
        created(merchant_api, card(), amount=amount)
    response = merchant_api.get(f"/webhooks/{hook['id']}/deliveries", params={"per_page": 2, "page": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["per_page"], body["last_page"]) == (4, 2, 2, 2)
    assert [d["event_type"] for d in body["data"]] == ["payment.captured", "ping"]


def test_an_unknown_event_has_no_deliveries(merchant_api):
    response = merchant_api.get("/events/nosuchevent0000000000000/deliveries")
    assert response.status_code == 404
    assert response.json() == error("not_found")
