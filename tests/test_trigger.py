"""The scenario table and its player on their own (tests/e2e/test_trigger.py plays every
scenario against real servers)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from komoju_server import trigger
from komoju_server.scenarios import SCENARIOS, Advance, Call

REQUIRED = {
    "card-captured",
    "card-authorized-captured",
    "card-refunded",
    "card-partially-refunded",
    "konbini-paid",
    "konbini-expired",
    "bank-transfer-paid",
    "web-money-topped-up",
    "redirect-approved",
    "redirect-declined",
    "subscription-renewed",
    "subscription-suspended",
}


def test_the_table_has_the_scenarios_and_each_only_names_what_it_kept_before():
    assert set(SCENARIOS) >= REQUIRED
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and re.fullmatch(r"[a-z]+(-[a-z]+)+", name)
        kept: set[str] = set()
        for step in scenario.steps:
            assert step.says, (name, step)
            if isinstance(step, Call):
                text = json.dumps([step.path, step.body])
                assert set(re.findall(r"\{(\w+)(?:\.refund_request)?\}", text)) <= kept, (name, step)
                if step.keep:
                    kept.add(step.keep)
            else:
                assert isinstance(step, Advance)
                assert (step.past is None) != (step.seconds == 0), (name, step)
                assert step.past is None or step.past[0] in kept
        assert set(scenario.expect) <= kept, name
        assert scenario.moves_clock == any(isinstance(step, Advance) for step in scenario.steps), name


def test_the_list_names_every_scenario_and_the_ones_that_move_the_clock():
    lines = trigger.scenario_lines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    for line, scenario in zip(lines, SCENARIOS.values(), strict=True):
        assert line.endswith("(moves the merchant's sandbox clock)") == scenario.moves_clock


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1"),
        ("https://pay.example/api/v1/", "https://pay.example/api/v1"),
    ],
)
def test_the_api_base_from_a_servers_url(url: str, base: str):
    assert trigger.api_base(url) == base


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(trigger.TriggerError, match="must be an http"):
        trigger.api_base("127.0.0.1:8080")


def stand_in(final_status: str) -> httpx.MockTransport:
    """A server that makes the payment, then reads it back with `final_status`."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Basic c2tfdGVzdF94Og=="  # sk_test_x:
        payment = {"resource": "payment", "id": "pay1", "status": "captured", "total": 1100, "currency": "JPY"}
        if request.method == "GET":
            assert request.url.path == "/api/v1/payments/pay1"
            return httpx.Response(200, json={**payment, "status": final_status})
        assert (request.method, request.url.path) == ("POST", "/api/v1/payments")
        assert json.loads(request.content)["payment_details"]["number"] == "4111111111111111"
        return httpx.Response(200, json=payment)

    return httpx.MockTransport(handle)


def test_a_scenario_reads_what_it_made_back_and_says_when_it_is_not_as_expected():
    said: list[str] = []
    played = trigger.play("card-captured", "http://server", "sk_test_x", said.append, transport=stand_in("captured"))
    assert played.ok
    assert played.as_dict() == {
        "scenario": "card-captured",
        "ok": True,
        "objects": {"payment": {"resource": "payment", "id": "pay1", "status": "captured"}},
        "mismatches": [],
    }
    assert said == ["  create a credit_card payment of 1000 yen: payment pay1 captured (total 1100 JPY)"]
    played = trigger.play("card-captured", "http://server", "sk_test_x", transport=stand_in("refunded"))
    assert not played.ok
    assert played.mismatches == ["payment pay1 is refunded, not captured"]


def test_a_refused_call_stops_the_scenario_and_says_why():
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            401, json={"error": {"code": "unauthorized", "message": "Not authorized.", "param": None}}
        )
    )
    with pytest.raises(trigger.TriggerError) as raised:
        trigger.play("konbini-paid", "http://server", "sk_test_x", transport=transport)
    assert str(raised.value) == "POST /api/v1/payments answered 401: unauthorized: Not authorized."
