"""Live mode through an upstream KOMOJU: two real server processes on 127.0.0.1.

The upstream is a komoju-server in test mode with its own merchant; the gateway is a
komoju-server whose live processor is that upstream (`--live-processor komoju`), spoken to
with the gateway merchant's live keys. The upstream delivers its webhooks to the gateway's
`/processors/komoju/webhooks`, or (for reconcile) delivers none.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from komoju_server.methods import BY_TYPE
from komoju_server.processors.base import ChargeRequest, RefundRequest
from komoju_server.processors.komoju import KomojuProcessor
from komoju_server.webhooks.signing import sign
from tests.support import ServerProcess, create_database, drop_database, new_merchant

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 1, "year": 2030}
DECLINED_CARD = {**CARD, "number": "4123111111111059"}
KONBINI = {"type": "konbini", "store": "lawson", "email": "buyer@example.com", "phone": "09012345678"}
WEBHOOK_SECRET = "whsec_" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Pair:
    upstream: ServerProcess
    gateway: ServerProcess
    gateway_keys: dict[str, str]

    def live(self) -> httpx.Client:
        return self.gateway.client(self.gateway_keys["live_secret_key"])

    def upstream_client(self) -> httpx.Client:
        return self.upstream.client(self.upstream.secret_key)


@contextmanager
def running_pair(
    gateway_db: str, tmp_path: Any, webhooks: bool = True, reconcile_every: float = 0, workers: int = 1
) -> Iterator[Pair]:
    gateway_port = free_port()
    upstream_key = "sk_test_" + secrets.token_hex(16)
    hook = ["--webhook-url", f"http://127.0.0.1:{gateway_port}/processors/komoju/webhooks"] if webhooks else []
    upstream = ServerProcess.start(
        f"sqlite:///{tmp_path / 'upstream.db'}",
        upstream_key,
        "pk_test_" + secrets.token_hex(16),
        extra=[*hook, "--webhook-secret", WEBHOOK_SECRET, "--webhook-retry-schedule", "1s,1s,2s"],
    )
    try:
        keys = new_merchant(gateway_db)
        gateway = ServerProcess.start(
            gateway_db,
            "sk_test_" + secrets.token_hex(16),
            "pk_test_" + secrets.token_hex(16),
            extra=[
                "--port",
                str(gateway_port),
                "--workers",
                str(workers),
                "--live-processor",
                "komoju",
                "--live-processor-url",
                upstream.url,
                "--live-processor-webhook-secret",
                WEBHOOK_SECRET,
                "--live-processor-reconcile-every",
                str(reconcile_every),
            ],
            # The key goes in the environment, as the README says: a flag would show in ps.
            env={"KOMOJU_LIVE_PROCESSOR_KEY": upstream_key},
        )
        try:
            yield Pair(upstream, gateway, keys)
        finally:
            gateway.stop()
            output = "".join(gateway.output)
            assert upstream_key not in output
            assert " ERROR " not in output, output
    finally:
        upstream.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Webhooks on, reconcile off. On PostgreSQL the gateway runs two processes, so races
    below cross processes too."""
    tmp_path = tmp_path_factory.mktemp("pair")
    if request.param == "sqlite":
        with running_pair(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path) as made:
            yield made
        return
    name = f"komoju_test_gw_{secrets.token_hex(4)}"
    url = create_database(name)
    try:
        with running_pair(url, tmp_path, workers=2) as made:
            yield made
    finally:
        drop_database(name)


def upstream_payment_of(pair: Pair, order: str) -> dict[str, Any]:
    """The upstream's payment for the gateway payment made with this external_order_num."""
    with pair.upstream_client() as upstream:
        found = upstream.get("/payments", params={"external_order_num": order}).json()["data"]
    assert len(found) == 1, found
    return found[0]


def upstream_events_of(pair: Pair, reference: str) -> Counter[str]:
    with pair.upstream_client() as upstream:
        events = upstream.get("/events", params={"per_page": 100}).json()["data"]
    return Counter(event["type"] for event in events if event["data"].get("id") == reference)


def status_within(client: httpx.Client, payment_id: str, wanted: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status = client.get(f"/payments/{payment_id}").json()["status"]
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def new_order() -> str:
    return "order-" + secrets.token_hex(6)


def card_payment(pair: Pair, capture: bool, amount: int = 1000) -> tuple[dict[str, Any], dict[str, Any]]:
    order = new_order()
    body = {
        "amount": amount,
        "currency": "JPY",
        "payment_details": CARD,
        "capture": capture,
        "external_order_num": order,
    }
    with pair.live() as live:
        answer = live.post("/payments", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json(), upstream_payment_of(pair, order)


def test_a_live_card_payment_exists_on_both_servers_with_the_same_status(pair: Pair):
    ours, theirs = card_payment(pair, capture=True)
    assert ours["status"] == theirs["status"] == "captured"
    assert (ours["total"], ours["currency"]) == (theirs["total"], theirs["currency"]) == (1100, "JPY")
    assert ours["payment_details"]["last_four_digits"] == theirs["payment_details"]["last_four_digits"] == "1111"
    assert ours["id"] != theirs["id"]  # the upstream's id is only our reference, never shown
    ours, theirs = card_payment(pair, capture=False)
    assert ours["status"] == theirs["status"] == "authorized"
    assert ours["payment_deadline"] == theirs["payment_deadline"]


def test_a_partial_capture_reaches_the_upstream_with_its_amount_and_tax(pair: Pair):
    ours, theirs = card_payment(pair, capture=False, amount=2000)
    # 2025-01-28 answers the captured amounts (the default shows the released rest as a refund).
    version = {"X-KOMOJU-API-VERSION": "2025-01-28"}
    with pair.live() as live:
        captured = live.post(f"/payments/{ours['id']}/capture", json={"amount": 1500}, headers=version)
        assert captured.status_code == 200, captured.text
        refunded = live.post(f"/payments/{ours['id']}/refund", headers=version)
    with pair.upstream_client() as upstream:
        upstream_now = upstream.get(f"/payments/{theirs['id']}", headers=version).json()
    amounts = ("amount", "tax", "total", "amount_refunded")
    assert tuple(captured.json()[name] for name in amounts[:3]) == (1500, 150, 1650)
    assert tuple(refunded.json()[name] for name in amounts) == tuple(upstream_now[name] for name in amounts)
    assert upstream_now["amount_refunded"] == 1650 and upstream_now["status"] == "refunded"
    assert upstream_events_of(pair, theirs["id"])["payment.captured"] == 1


def race(calls: int, work: Any) -> list[httpx.Response]:
    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(lambda _: work(), range(calls)))


def test_a_raced_capture_and_raced_refunds_reach_the_upstream_once_each(pair: Pair):
    ours, theirs = card_payment(pair, capture=False)
    path = f"/payments/{ours['id']}"

    def capture() -> httpx.Response:
        with pair.live() as live:
            return live.post(path + "/capture")

    answers = race(8, capture)
    codes = Counter(a.status_code for a in answers)
    assert codes[200] >= 1 and set(codes) <= {200, 409, 422}, [a.text for a in answers]
    with pair.upstream_client() as upstream:
        assert upstream.get(f"/payments/{theirs['id']}").json()["status"] == "captured"
    assert upstream_events_of(pair, theirs["id"])["payment.captured"] == 1

    def refund_100() -> httpx.Response:
        with pair.live() as live:
            return live.post(path + "/refund", json={"amount": 100})

    partial = race(5, refund_100)
    refunded = sum(1 for a in partial if a.status_code == 200)
    assert refunded >= 1 and {a.status_code for a in partial} <= {200, 409}, [a.text for a in partial]

    def refund_rest() -> httpx.Response:
        with pair.live() as live:
            return live.post(path + "/refund")

    full = race(6, refund_rest)
    assert sum(1 for a in full if a.status_code == 200) == 1, [a.text for a in full]
    assert {a.status_code for a in full} <= {200, 409, 422}

    with pair.upstream_client() as upstream:
        upstream_now = upstream.get(f"/payments/{theirs['id']}").json()
    with pair.live() as live:
        ours_now = live.get(path).json()
    # Every refund the gateway answered 200 made exactly one upstream refund, of the same amount.
    assert len(upstream_now["refunds"]) == refunded + 1 == len(ours_now["refunds"])
    assert upstream_now["amount_refunded"] == ours_now["amount_refunded"] == 1100
    assert upstream_now["status"] == ours_now["status"] == "refunded"
    assert sorted(r["amount"] for r in upstream_now["refunds"]) == sorted(r["amount"] for r in ours_now["refunds"])
    events = upstream_events_of(pair, theirs["id"])
    assert (events["payment.refund.created"], events["payment.refunded"]) == (refunded + 1, 1)


def test_a_konbini_payment_paid_upstream_is_captured_on_the_gateway_by_webhook(pair: Pair):
    order = new_order()
    with pair.live() as live:
        made = live.post(
            "/payments",
            json={"amount": 2000, "currency": "JPY", "payment_details": KONBINI, "external_order_num": order},
        )
        assert made.status_code == 200, made.text
        ours = made.json()
        theirs = upstream_payment_of(pair, order)
        assert ours["status"] == theirs["status"] == "authorized"
        assert ours["payment_details"]["receipt"] == theirs["payment_details"]["receipt"]  # the upstream's slip
        with pair.upstream_client() as upstream:
            assert upstream.post(f"/sandbox/payments/{theirs['id']}/complete").status_code == 200
        assert status_within(live, ours["id"], "captured", 20) == "captured"
        types = [e["type"] for e in live.get("/events").json()["data"] if e["data"].get("id") == ours["id"]]
        assert types.count("payment.captured") == 1


def test_a_declined_card_answers_as_the_upstream_does_and_leaves_no_payment(pair: Pair):
    order = new_order()
    body = {"amount": 1000, "currency": "JPY", "payment_details": DECLINED_CARD, "external_order_num": order}
    with pair.upstream_client() as upstream:
        direct = upstream.post("/payments", json=body)
    with pair.live() as live:
        through = live.post("/payments", json=body)
        assert live.get("/payments", params={"external_order_num": order}).json()["total"] == 0
    assert (
        (through.status_code, through.json()["error"]["code"])
        == (direct.status_code, "card_declined")
        == (
            502,
            "card_declined",
        )
    )


def test_a_live_token_is_made_upstream_and_pays_there_once(pair: Pair):
    with pair.gateway.client(pair.gateway_keys["live_publishable_key"]) as public:
        token = public.post("/tokens", json={"payment_details": CARD})
    assert token.status_code == 200, token.text
    order = new_order()
    body = {"amount": 500, "currency": "JPY", "payment_details": token.json()["id"], "external_order_num": order}
    with pair.live() as live:
        paid = live.post("/payments", json=body)
        assert paid.status_code == 200, paid.text
        again = live.post("/payments", json={**body, "external_order_num": new_order()})
        assert again.json()["error"]["code"] == "invalid_token"
    theirs = upstream_payment_of(pair, order)
    assert theirs["status"] == paid.json()["status"] == "captured"
    assert theirs["payment_details"]["last_four_digits"] == "1111"


def test_the_webhook_endpoint_takes_only_signed_events(pair: Pair):
    url = pair.gateway.url + "/processors/komoju/webhooks"
    event = orjson.dumps(
        {
            "id": "ev1",
            "type": "payment.captured",
            "resource": "event",
            "data": {"id": "nobody_knows_this", "status": "captured", "refunds": []},
        }
    )
    unsigned = httpx.post(url, content=event)
    forged = httpx.post(url, content=event, headers={"X-Komoju-Signature": sign("wrong", event)})
    garbage = httpx.post(url, content=b"not json", headers={"X-Komoju-Signature": sign(WEBHOOK_SECRET, b"not json")})
    unknown = httpx.post(url, content=event, headers={"X-Komoju-Signature": sign(WEBHOOK_SECRET, event)})
    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (401, "unauthorized")
    assert (forged.status_code, forged.json()["error"]["code"]) == (401, "unauthorized")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (400, "bad_request")
    assert unknown.status_code == 200


def test_asking_the_upstream_twice_with_one_key_makes_one_payment_and_one_refund(pair: Pair):
    """What recovery relies on: the processor, asked again with an intent's key, gets the
    upstream's first answer replayed, and reads it as the same result."""

    async def main() -> None:
        processor = KomojuProcessor(pair.upstream.url, pair.upstream.secret_key)
        order = new_order()
        request = ChargeRequest(
            "charge-" + order,
            "ours",
            BY_TYPE["credit_card"],
            dict(CARD),
            700,
            70,
            "JPY",
            True,
            0,
            "http://127.0.0.1",
            external_order_num=order,
        )
        try:
            first, second = await processor.charge(request), await processor.charge(request)
            assert first == second
            refund = RefundRequest("refund-" + order, first.reference, 300)
            assert await processor.refund(refund) == await processor.refund(refund)
            assert len((await processor.lookup(first.reference)).refunds) == 1
        finally:
            await processor.aclose()
        upstream_payment_of(pair, order)  # exactly one

    asyncio.run(main())


def test_a_konbini_payment_paid_upstream_is_captured_by_reconcile_without_webhooks(tmp_path: Any):
    with running_pair(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path, webhooks=False, reconcile_every=1) as pair:
        order = new_order()
        with pair.live() as live:
            ours = live.post(
                "/payments",
                json={"amount": 2000, "currency": "JPY", "payment_details": KONBINI, "external_order_num": order},
            ).json()
            theirs = upstream_payment_of(pair, order)
            with pair.upstream_client() as upstream:
                assert upstream.post(f"/sandbox/payments/{theirs['id']}/complete").status_code == 200
            assert status_within(live, ours["id"], "captured", 20) == "captured"


def test_an_upstream_that_is_down_is_a_bad_gateway_and_no_payment(tmp_path: Any):
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    keys = new_merchant(gateway_db)
    gateway = ServerProcess.start(
        gateway_db,
        extra=["--live-processor", "komoju", "--live-processor-url", f"http://127.0.0.1:{free_port()}"],
        env={"KOMOJU_LIVE_PROCESSOR_KEY": "sk_test_nobody"},
    )
    try:
        with gateway.client(keys["live_secret_key"]) as live:
            answer = live.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD})
            assert (answer.status_code, answer.json()["error"]["code"]) == (502, "bad_gateway")
            assert live.get("/payments").json()["total"] == 0
        with gateway.client(keys["live_publishable_key"]) as public:
            assert public.post("/tokens", json={"payment_details": CARD}).status_code == 502
    finally:
        gateway.stop()


def test_serve_refuses_a_live_processor_without_its_settings(tmp_path: Any):
    with pytest.raises(RuntimeError, match="KOMOJU_LIVE_PROCESSOR_KEY"):
        ServerProcess.start(
            f"sqlite:///{tmp_path / 'x.db'}",
            extra=["--live-processor", "komoju", "--live-processor-url", "http://127.0.0.1:1"],
            env={"KOMOJU_LIVE_PROCESSOR_KEY": ""},
        )


def test_a_live_customer_keeps_its_card_here_and_each_charge_forwards_it(pair: Pair):
    with pair.live() as live:
        customer = live.post("/customers", json={"payment_details": CARD, "email": "c@example.com"})
        assert customer.status_code == 200, customer.text
        orders = [new_order(), new_order()]
        for order in orders:
            body = {"amount": 800, "currency": "JPY", "customer": customer.json()["id"], "external_order_num": order}
            paid = live.post("/payments", json=body)
            assert paid.status_code == 200, paid.text
    for order in orders:
        assert upstream_payment_of(pair, order)["status"] == "captured"
