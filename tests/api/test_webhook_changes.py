"""PATCH /webhooks/:id (change an endpoint's url, secret_token or events) and
POST /webhooks/:id/ping (send it a new ping): this server's extensions, which the dashboard's
webhook page uses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.api.payment_support import ID, TIME, card, created, error
from tests.webhooks.harness import Receiver, receiver

SECRET = "whsec-before"
NEW_SECRET = "whsec-after"


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as box:
        yield box


def webhook(client, url: str, secret: str = SECRET, **extra) -> dict:
    response = client.post("/webhooks", json={"url": url, "secret_token": secret, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_patch_changes_what_is_given_and_keeps_the_rest(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/old", SECRET), events=["payment.captured"])
    moved = merchant_api.patch(f"/webhooks/{hook['id']}", json={"url": rx.url("/new", SECRET)})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {**hook, "url": rx.url("/new")}
    narrowed = merchant_api.patch(f"/webhooks/{hook['id']}", json={"events": ["payment.refunded", "ping"]})
    assert narrowed.json() == {**hook, "url": rx.url("/new"), "events": ["payment.refunded", "ping"]}
    widened = merchant_api.patch(f"/webhooks/{hook['id']}", json={"events": None})
    assert widened.json()["events"] is None
    assert merchant_api.get(f"/webhooks/{hook['id']}").json() == widened.json()
    assert merchant_api.patch(f"/webhooks/{hook['id']}", json={}).json() == widened.json()


def test_events_go_to_the_new_url_signed_with_the_new_secret(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/before", SECRET))
    rx.wait_events("/before", ["ping"])
    changed = merchant_api.patch(
        f"/webhooks/{hook['id']}",
        content=f"url={rx.url('/after', NEW_SECRET)}&secret_token={NEW_SECRET}&events[]=payment.captured",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert changed.status_code == 200, changed.text
    assert NEW_SECRET not in changed.text and SECRET not in changed.text
    payment = created(merchant_api, card())
    (got,) = rx.wait_events("/after", ["payment.captured"])
    assert got.signed is True  # checked with the new secret
    assert got.event["data"]["id"] == payment["id"]
    assert [r.headers["x-komoju-event"] for r in rx.received("/before")] == ["ping"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": ""}, error("missing_parameter", "url")),
        ({"url": None}, error("missing_parameter", "url")),
        ({"url": "ftp://example.com/hook"}, error("invalid_parameter", "url")),
        ({"secret_token": ""}, error("missing_parameter", "secret_token")),
        ({"secret_token": 12345}, error("invalid_parameter", "secret_token")),
        ({"secret_token": "x" * 256}, error("invalid_parameter", "secret_token")),
        ({"events": ["payment.nope"]}, error("invalid_parameter", "events")),
        ({"events": []}, error("invalid_parameter", "events")),
    ],
)
def test_patch_refuses_what_is_wrong_and_changes_nothing(merchant_api, rx, body, expected):
    hook = webhook(merchant_api, rx.url("/x", SECRET))
    response = merchant_api.patch(f"/webhooks/{hook['id']}", json=body)
    assert (response.status_code, response.json()) == (422, expected)
    assert merchant_api.get(f"/webhooks/{hook['id']}").json() == hook


def test_patch_and_ping_find_only_the_merchants_own_live_endpoints(api, merchant_api, rx):
    theirs = webhook(api, rx.url("/theirs", SECRET))
    gone = webhook(merchant_api, rx.url("/gone", SECRET))
    assert merchant_api.delete(f"/webhooks/{gone['id']}").status_code == 200
    for webhook_id in (theirs["id"], gone["id"], "nosuchwebhook"):
        for response in (
            merchant_api.patch(f"/webhooks/{webhook_id}", json={"url": "https://example.com/h"}),
            merchant_api.post(f"/webhooks/{webhook_id}/ping"),
        ):
            assert (response.status_code, response.json()) == (404, error("not_found"))
    assert api.get(f"/webhooks/{theirs['id']}").json() == theirs


def test_ping_sends_a_new_ping_to_that_endpoint_alone(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/pinged", SECRET))
    other = webhook(merchant_api, rx.url("/other", SECRET))
    rx.wait_events("/other", ["ping"])
    response = merchant_api.post(f"/webhooks/{hook['id']}/ping")
    assert response.status_code == 200
    ping = response.json()
    assert ping == {"id": ID, "type": "ping", "resource": "event", "data": hook, "created_at": TIME, "reason": None}
    assert merchant_api.get(f"/events/{ping['id']}").json() == ping

    def both_pings(got) -> bool:
        return sum(1 for r in got if r.path == "/pinged" and r.event["type"] == "ping") == 2

    rx.wait_for(both_pings)
    # Deliveries go out side by side: the endpoint's first ping may arrive after this one.
    (sent,) = [r for r in rx.received("/pinged") if r.event == ping]
    assert sent.signed is True
    assert len(rx.received("/other")) == 1
    assert other["id"] not in [r.event["data"]["id"] for r in rx.received("/pinged")]


def test_a_ping_with_an_idempotency_key_is_sent_once(merchant_api, rx):
    hook = webhook(merchant_api, rx.url("/once", SECRET))
    key = {"X-KOMOJU-IDEMPOTENCY": str(uuid.uuid4())}
    first = merchant_api.post(f"/webhooks/{hook['id']}/ping", headers=key)
    again = merchant_api.post(f"/webhooks/{hook['id']}/ping", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    pings = merchant_api.get("/events").json()["data"]
    assert [e["id"] for e in pings if e["type"] == "ping"] == [first.json()["id"], pings[-1]["id"]]
