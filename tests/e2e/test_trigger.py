"""`komoju-server trigger` against real servers (SQLite and PostgreSQL): every scenario played
over HTTP as a merchant of its own (by the trigger module, in this process; the CLI itself in
subprocesses below), then what it made checked through the API."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from komoju_server import trigger as player
from komoju_server.scenarios import SCENARIOS
from komoju_server.services import merchants
from komoju_server.store import Store
from tests.support import ServerProcess, with_store

CLI = [sys.executable, "-m", "komoju_server"]


def trigger(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "trigger", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def merchant_key(real_server: ServerProcess) -> str:
    """A merchant of the test's own (scenarios move its clock), made in the server's database."""
    made: list[merchants.MerchantKeys] = []

    async def make(store: Store) -> None:
        made.append(await merchants.create_merchant(store))

    with_store(real_server.database_url, make)
    return made[0].keys[("secret", "test")]


@pytest.fixture
def api(real_server: ServerProcess, merchant_key: str) -> Iterator[httpx.Client]:
    with real_server.client(merchant_key) as client:
        yield client


def get(api: httpx.Client, path: str) -> dict[str, Any]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def event_types(api: httpx.Client) -> list[str]:
    return [e["type"] for e in reversed(get(api, "/events?per_page=100")["data"])]


def card_checks(status: str, refunded: int = 0) -> Callable[[httpx.Client, dict[str, Any]], None]:
    def check(api: httpx.Client, made: dict[str, Any]) -> None:
        payment = get(api, f"/payments/{made['payment']['id']}")
        assert (payment["status"], payment["amount"], payment["total"]) == (status, 1000, 1100)
        assert payment["payment_details"]["type"] == "credit_card"
        assert payment["amount_refunded"] == refunded
        assert sum(r["amount"] for r in payment["refunds"]) == refunded

    return check


def paid_by_customer(method: str, status: str, event: str) -> Callable[[httpx.Client, dict[str, Any]], None]:
    def check(api: httpx.Client, made: dict[str, Any]) -> None:
        payment = get(api, f"/payments/{made['payment']['id']}")
        assert (payment["status"], payment["payment_details"]["type"]) == (status, method)
        assert event_types(api) == ["payment.authorized", event]

    return check


def refund_requested(api: httpx.Client, made: dict[str, Any]) -> None:
    payment = get(api, f"/payments/{made['payment']['id']}")
    assert (payment["status"], payment["amount_refunded"]) == ("refunded", 1100)
    assert [(r["status"], r["amount"]) for r in payment["refund_requests"]] == [("completed", 1100)]
    assert event_types(api) == [
        "payment.authorized",
        "payment.captured",
        "payment.updated",
        "payment.refund.created",
        "payment.refunded",
    ]


def web_money(api: httpx.Client, made: dict[str, Any]) -> None:
    payment = get(api, f"/payments/{made['payment']['id']}")
    assert (payment["status"], payment["total"]) == ("captured", 3300)
    details = payment["payment_details"]
    assert (details["type"], details["short_amount"]) == ("web_money", 0)
    assert [card["points"] for card in details["prepaid_cards"]] == [2000, 1300]


def renewed(api: httpx.Client, made: dict[str, Any]) -> None:
    subscription = get(api, f"/subscriptions/{made['subscription']['id']}")
    assert (subscription["status"], subscription["customer"]["uuid"]) == ("active", made["customer"]["id"])
    assert subscription["payments"] == made["subscription"]["payments"]
    assert len(subscription["payments"]) == 2
    for payment_id in subscription["payments"]:
        payment = get(api, f"/payments/{payment_id}")
        assert (payment["status"], payment["subscription"], payment["amount"]) == ("captured", subscription["id"], 1500)


def suspended(api: httpx.Client, made: dict[str, Any]) -> None:
    subscription = get(api, f"/subscriptions/{made['subscription']['id']}")
    assert (subscription["status"], subscription["retry_count"], len(subscription["payments"])) == ("suspended", 3, 1)
    assert [t for t in event_types(api) if t.startswith("subscription.")] == [
        "subscription.created",
        "subscription.captured",
        *["subscription.failed"] * 4,
        "subscription.suspended",
    ]


CHECKS: dict[str, Callable[[httpx.Client, dict[str, Any]], None]] = {
    "card-captured": card_checks("captured"),
    "card-authorized-captured": card_checks("captured"),
    "card-authorized-cancelled": card_checks("cancelled"),
    "card-refunded": card_checks("refunded", 1100),
    "card-partially-refunded": card_checks("captured", 300),
    "konbini-paid": paid_by_customer("konbini", "captured", "payment.captured"),
    "konbini-refund-requested": refund_requested,
    "konbini-expired": paid_by_customer("konbini", "expired", "payment.expired"),
    "bank-transfer-paid": paid_by_customer("bank_transfer", "captured", "payment.captured"),
    "web-money-topped-up": web_money,
    "redirect-approved": paid_by_customer("line_pay", "captured", "payment.captured"),
    "redirect-declined": paid_by_customer("line_pay", "failed", "payment.failed"),
    "subscription-renewed": renewed,
    "subscription-suspended": suspended,
}


def test_every_scenario_has_a_check():
    assert set(CHECKS) == set(SCENARIOS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_scenario_makes_what_it_says(real_server: ServerProcess, merchant_key: str, api: httpx.Client, name: str):
    played = player.play(name, real_server.url, merchant_key).as_dict()
    assert (played["scenario"], played["ok"], played["mismatches"]) == (name, True, [])
    objects = played["objects"]
    for kept, status in SCENARIOS[name].expect.items():
        assert objects[kept]["status"] == status
        assert get(api, f"/{objects[kept]['resource']}s/{objects[kept]['id']}")["status"] == status
    CHECKS[name](api, objects)


def test_json_output(real_server: ServerProcess, merchant_key: str, api: httpx.Client):
    out = trigger("subscription-renewed", "--url", real_server.url, "--secret-key", merchant_key, "--json")
    assert out.returncode == 0, out.stderr
    subscription = get(api, "/subscriptions")["data"][0]
    customer = get(api, "/customers")["data"][0]
    assert json.loads(out.stdout) == {
        "scenario": "subscription-renewed",
        "ok": True,
        "objects": {
            "customer": {"resource": "customer", "id": customer["id"], "status": None},
            "subscription": {
                "resource": "subscription",
                "id": subscription["id"],
                "status": "active",
                "payments": subscription["payments"],
            },
        },
        "mismatches": [],
    }


def test_text_output_names_the_steps_and_the_ids(real_server: ServerProcess, merchant_key: str, api: httpx.Client):
    out = trigger("card-refunded", "--url", real_server.url + "/api/v1", "--secret-key", merchant_key)
    assert out.returncode == 0, out.stderr
    (payment,) = get(api, "/payments")["data"]
    pid = payment["id"]
    assert out.stdout == (
        "card-refunded: a card payment captured, then refunded in full\n"
        f"  create a credit_card payment of 1000 yen: payment {pid} captured (total 1100 JPY)\n"
        f"  refund all of it: payment {pid} refunded (total 1100 JPY, 1100 refunded)\n"
        "made:\n"
        f"  payment {pid} refunded (total 1100 JPY, 1100 refunded)\n"
    )


def test_the_key_and_url_come_from_the_environment(real_server: ServerProcess, merchant_key: str, api: httpx.Client):
    out = subprocess.run(
        [*CLI, "trigger", "redirect-declined"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "KOMOJU_URL": real_server.url, "KOMOJU_SECRET_KEY": merchant_key},
    )
    assert out.returncode == 0, out.stderr
    assert get(api, "/payments")["data"][0]["status"] == "failed"


def test_what_goes_wrong_is_said(real_server: ServerProcess):
    out = trigger("card-captured", "--url", real_server.url, "--secret-key", "sk_test_nobody")
    assert (out.returncode, out.stdout.splitlines()[0]) == (1, "card-captured: a card payment captured at once")
    assert out.stderr == "error: POST /api/v1/payments answered 401: unauthorized: " + (
        httpx.get(real_server.url + "/api/v1/payments").json()["error"]["message"] + "\n"
    )


def test_what_goes_wrong_without_a_server_is_said():
    out = trigger("card-captured", "--url", "http://127.0.0.1:9", "--secret-key", "sk_test_x")
    assert out.returncode == 1
    assert out.stderr.startswith("error: cannot reach http://127.0.0.1:9/api/v1/: ConnectError")
    out = trigger("no-such-thing", "--secret-key", "sk_test_x")
    assert out.returncode == 2
    assert out.stderr == "error: no scenario named 'no-such-thing'; komoju-server trigger --list names them\n"
    out = subprocess.run(
        [*CLI, "trigger", "card-captured"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if k != "KOMOJU_SECRET_KEY"},
    )
    assert out.returncode == 2
    assert "--secret-key (or env KOMOJU_SECRET_KEY) is needed" in out.stderr


def test_list_names_them_all():
    out = trigger("--list")
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == list(SCENARIOS)
