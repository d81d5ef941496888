"""Metadata on every resource that takes it (payments, customers, sessions, subscriptions):
kept as sent, JSON types and nesting included, within the declared limits (domain/params.py),
and refused with KOMOJU's error envelope naming where it broke a limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from komoju_server.domain.params import METADATA
from tests.api.payment_support import card, error

RICH = {
    "order_id": 123,
    "ratio": 0.5,
    "gift": False,
    "note": None,
    "name": "山田",
    "cart": {"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}], "coupon": None},
    "tags": ["new", 7, True],
}


def _customer(client: httpx.Client, metadata: Any) -> httpx.Response:
    return client.post("/customers", json={"payment_details": card(), "metadata": metadata})


def _payment(client: httpx.Client, metadata: Any) -> httpx.Response:
    body = {"amount": 1000, "currency": "JPY", "payment_details": card(), "metadata": metadata}
    return client.post("/payments", json=body)


def _session(client: httpx.Client, metadata: Any) -> httpx.Response:
    return client.post("/sessions", json={"amount": 1000, "currency": "JPY", "metadata": metadata})


def _subscription(client: httpx.Client, metadata: Any) -> httpx.Response:
    customer = _customer(client, None)
    assert customer.status_code == 200, customer.text
    body = {"customer": customer.json()["id"], "amount": 2000, "currency": "JPY", "period": "weekly"}
    return client.post("/subscriptions", json={**body, "metadata": metadata})


CREATES: dict[str, tuple[Callable[[httpx.Client, Any], httpx.Response], str]] = {
    "payment": (_payment, "/payments"),
    "customer": (_customer, "/customers"),
    "session": (_session, "/sessions"),
    "subscription": (_subscription, "/subscriptions"),
}


@pytest.mark.parametrize("resource", list(CREATES))
def test_metadata_is_kept_as_sent_types_and_nesting_included(api, resource):
    create, path = CREATES[resource]
    response = create(api, RICH)
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["metadata"] == RICH
    assert type(made["metadata"]["order_id"]) is int and type(made["metadata"]["ratio"]) is float
    shown = api.get(f"{path}/{made['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["metadata"] == RICH


def test_updates_replace_metadata_kept_as_sent(api):
    payment = _payment(api, {"a": "1"}).json()
    changed = api.patch(f"/payments/{payment['id']}", json={"metadata": {"b": [1, {"c": 2.5}]}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["metadata"] == {"b": [1, {"c": 2.5}]}
    customer = _customer(api, {"a": "1"}).json()
    changed = api.patch(f"/customers/{customer['id']}", json={"metadata": {"level": 3, "vip": True}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["metadata"] == {"level": 3, "vip": True}


def test_a_payment_made_through_a_session_carries_its_metadata(api):
    session = _session(api, {"order": 42, "lines": ["a", "b"]}).json()
    paid = api.post(f"/sessions/{session['id']}/pay", json={"payment_details": card()})
    assert paid.status_code == 200, paid.text
    payment = api.get(f"/payments/{paid.json()['payment']['id']}").json()
    assert payment["metadata"] == {"order": 42, "lines": ["a", "b"]}


def test_a_form_body_gives_nested_metadata_of_strings(api):
    response = api.post(
        "/payments",
        data={
            "amount": "1000",
            "currency": "JPY",
            "payment_details[type]": "credit_card",
            "payment_details[number]": "4111111111111111",
            "payment_details[month]": "1",
            "payment_details[year]": "2030",
            "metadata[order][id]": "42",
            "metadata[order][lines][]": ["a", "b"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"order": {"id": "42", "lines": ["a", "b"]}}


def test_the_limits_are_the_declared_ones():
    assert (METADATA.key_length, METADATA.value_length, METADATA.entries, METADATA.depth) == (30, 2000, 50, 5)


def _nest(levels: int) -> dict[str, Any]:
    """Metadata `levels` objects deep, metadata itself the first."""
    inner: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        inner = {"n": inner}
    return inner


def test_what_is_just_within_the_limits_is_kept(api):
    at_limits = {
        "k" * 30: "v" * 2000,
        "deep": _nest(4),  # with metadata itself: 5 levels
        "big": 2**63 - 1,
        "small": -(2**63),
        **{f"e{i}": i for i in range(50 - 1 - 5 - 2)},  # 50 entries in all: deep and its 4 inner keys are 5
    }
    response = _payment(api, at_limits)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == at_limits


BEYOND: list[tuple[Any, str]] = [
    ({"k" * 31: "v"}, "metadata[" + "k" * 31 + "]"),
    ({"a": {"k" * 31: "v"}}, "metadata[a][" + "k" * 31 + "]"),
    ({"": "v"}, "metadata[]"),
    ({"key": "v" * 2001}, "metadata[key]"),
    ({"a": {"b": "v" * 2001}}, "metadata[a][b]"),
    ({"a": ["x", "v" * 2001]}, "metadata[a][1]"),
    ({"deep": _nest(5)}, "metadata[deep][n][n][n][n]"),
    ({"a": [[[[["x"]]]]]}, "metadata[a][0][0][0][0]"),
    ({"big": 2**63}, "metadata[big]"),
    ({f"k{i}": "v" for i in range(51)}, "metadata"),
    ({"a": list(range(50))}, "metadata"),  # 51 entries: a and its 50 items
    ("just a string", "metadata"),
    ([1, 2], "metadata"),
    (7, "metadata"),
]


@pytest.mark.parametrize("resource", list(CREATES))
@pytest.mark.parametrize(("metadata", "param"), BEYOND)
def test_metadata_beyond_the_limits_is_refused_naming_where(api, resource, metadata, param):
    create, _path = CREATES[resource]
    response = create(api, metadata)
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", param)


@pytest.mark.parametrize("resource", ["payment", "customer"])
def test_a_refused_update_changes_nothing(api, resource):
    create, path = CREATES[resource]
    made = create(api, {"a": 1}).json()
    response = api.patch(f"{path}/{made['id']}", json={"metadata": {"a": {"b": "v" * 2001}}})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "metadata[a][b]")
    assert api.get(f"{path}/{made['id']}").json()["metadata"] == {"a": 1}


def test_a_number_too_large_for_json_is_refused(api):
    response = api.post(
        "/payments",
        content=b'{"amount": 1000, "currency": "JPY", "payment_details": {"type": "credit_card", '
        b'"number": "4111111111111111", "month": 1, "year": 2030}, "metadata": {"x": 1e400}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "metadata[x]")
