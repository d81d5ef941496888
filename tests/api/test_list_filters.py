"""List filters as real clients send them: several statuses at once, event types, and filters
sent as a JSON body on the GET (an older KOMOJU Ruby client does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.payment_support import card, created, error, konbini

LIST_KEYS = ("resource", "total", "page", "per_page", "last_page")


def listed(client: httpx.Client, path: str, **query: Any) -> dict[str, Any]:
    response = client.get(path, params=query)
    assert response.status_code == 200, response.text
    return response.json()


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["id"] for item in answer["data"]]


def get_with_body(client: httpx.Client, path: str, body: Any, **query: Any) -> httpx.Response:
    """GET with a JSON body, as the `komoju` gem (heroics) sends a list's filters."""
    return client.request("GET", path, json=body, params=query or None)


@pytest.fixture
def four(merchant_api: httpx.Client) -> dict[str, dict[str, Any]]:
    """A captured, an authorized (konbini), a cancelled and a refunded payment, in that order."""
    made = {
        "captured": created(merchant_api, card(), external_order_num="A"),
        "authorized": created(merchant_api, konbini(), external_order_num="B"),
        "cancelled": created(merchant_api, konbini(), external_order_num="A"),
        "refunded": created(merchant_api, card(), external_order_num="C"),
    }
    for name, action in (("cancelled", "cancel"), ("refunded", "refund")):
        response = merchant_api.post(f"/payments/{made[name]['id']}/{action}")
        assert response.status_code == 200, response.text
        made[name] = response.json()
    return made


# -- several statuses ----------------------------------------------------------------------


def test_comma_separated_statuses_list_payments_of_any_of_them_newest_first(merchant_api, four):
    both = listed(merchant_api, "/payments", status="captured,authorized")
    assert ids(both) == [four["authorized"]["id"], four["captured"]["id"]]
    assert {k: both[k] for k in LIST_KEYS} == {
        "resource": "list",
        "total": 2,
        "page": 1,
        "per_page": 10,
        "last_page": 1,
    }
    assert both["data"] == [four["authorized"], four["captured"]]
    three = listed(merchant_api, "/payments", status="refunded, cancelled,captured")
    assert ids(three) == [four["refunded"]["id"], four["cancelled"]["id"], four["captured"]["id"]]
    # Repeats count once; `status[]=` and one status alone work as before.
    assert ids(listed(merchant_api, "/payments", status="captured,captured")) == [four["captured"]["id"]]
    assert ids(listed(merchant_api, "/payments", **{"status[]": ["authorized", "cancelled"]})) == [
        four["cancelled"]["id"],
        four["authorized"]["id"],
    ]
    assert ids(listed(merchant_api, "/payments", status="expired,failed")) == []
    # With the other filters, and paged.
    assert ids(listed(merchant_api, "/payments", status="captured,cancelled", external_order_num="A")) == [
        four["cancelled"]["id"],
        four["captured"]["id"],
    ]
    second = listed(merchant_api, "/payments", status="captured,authorized,cancelled", per_page=2, page=2)
    assert ids(second) == [four["captured"]["id"]]
    assert (second["total"], second["last_page"]) == (3, 2)


@pytest.mark.parametrize("value", ["captured,done", "captured,", ",captured", "Captured", "captured;authorized"])
def test_a_status_list_with_anything_but_statuses_is_invalid(merchant_api, value):
    response = merchant_api.get("/payments", params={"status": value})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "status")


# -- events by type ------------------------------------------------------------------------


def test_events_are_filtered_by_exact_type_and_by_several_types(merchant_api, four):
    every = listed(merchant_api, "/events", per_page=100)["data"]
    assert [e["type"] for e in every] == [
        "payment.refunded",
        "payment.refund.created",
        "payment.cancelled",
        "payment.captured",
        "payment.authorized",
        "payment.authorized",
        "payment.captured",
    ]

    def of(value: str, **more: Any) -> list[dict[str, Any]]:
        return listed(merchant_api, "/events", type=value, **more)["data"]

    assert of("payment.captured") == [every[3], every[6]]
    assert of("payment.refunded") == [every[0]]
    # Exact: `payment.refund` is not a prefix of payment.refund.created, nor `payment` of anything.
    assert of("payment.cancelled,payment.refund.created") == [every[1], every[2]]
    assert of("customer.created") == []
    answer = listed(merchant_api, "/events", type="payment.authorized", per_page=1, page=2)
    assert answer["data"] == [every[5]]
    assert {k: answer[k] for k in LIST_KEYS} == {
        "resource": "list",
        "total": 2,
        "page": 2,
        "per_page": 1,
        "last_page": 2,
    }


@pytest.mark.parametrize("value", ["payment", "payment.refund", "payment.*", "PAYMENT.CAPTURED", "payment.captured,"])
def test_an_event_type_that_is_not_one_is_invalid(merchant_api, value):
    response = merchant_api.get("/events", params={"type": value})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "type")


def test_events_take_the_time_range_every_list_takes(merchant_api, four):
    every = listed(merchant_api, "/events", per_page=100)["data"]
    newest = every[0]["created_at"]
    assert listed(merchant_api, "/events", start_time=newest, per_page=100)["data"] == [
        e for e in every if e["created_at"] >= newest
    ]
    assert listed(merchant_api, "/events", end_time="2000-01-01T00:00:00Z")["data"] == []
    response = merchant_api.get("/events", params={"start_time": "yesterday"})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "start_time")


# -- filters in a JSON body on GET ------------------------------------------------------------


def test_payment_filters_sent_as_a_json_body_on_get_are_applied(merchant_api, four):
    response = get_with_body(merchant_api, "/payments", {"status": "captured", "external_order_num": "A"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [four["captured"]]
    # JSON lists and numbers, as a client builds them, paging included.
    response = get_with_body(
        merchant_api, "/payments", {"status": ["captured", "authorized"], "per_page": 1, "page": 2}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["data"] == [four["captured"]]
    assert {k: answer[k] for k in LIST_KEYS} == {
        "resource": "list",
        "total": 2,
        "page": 2,
        "per_page": 1,
        "last_page": 2,
    }


def test_the_query_string_wins_over_the_body_field_by_field(merchant_api, four):
    response = get_with_body(
        merchant_api, "/payments", {"status": "captured", "external_order_num": "A"}, status="cancelled"
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [four["cancelled"]]  # status from the URL, the order number from the body


def test_a_bad_filter_in_the_body_is_refused_like_one_in_the_query(merchant_api, four):
    response = get_with_body(merchant_api, "/payments", {"status": "done"})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "status")
    response = get_with_body(merchant_api, "/payments", {"per_page": 1000})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "per_page")


def test_an_undecodable_body_on_get_is_a_bad_request(merchant_api):
    response = merchant_api.request(
        "GET", "/payments", content=b'{"status": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    message = (
        "The server cannot or will not process the request due to something that is perceived to be a client error."
    )
    assert response.json() == error("bad_request", message=message)


def test_event_customer_and_subscription_lists_take_body_filters_too(merchant_api, four):
    response = get_with_body(merchant_api, "/events", {"type": "payment.refunded"})
    assert response.status_code == 200, response.text
    assert [e["data"] for e in response.json()["data"]] == [four["refunded"]]
    customer = merchant_api.post("/customers", json={"payment_details": card()})
    assert customer.status_code == 200, customer.text
    for path in ("/customers", "/subscriptions"):
        response = get_with_body(merchant_api, path, {"end_time": "2000-01-01T00:00:00Z"})
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0
    response = get_with_body(merchant_api, "/customers", {"per_page": 1})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [customer.json()]
    assert response.json()["per_page"] == 1


def test_a_get_with_an_empty_body_lists_everything(merchant_api, four):
    response = merchant_api.request("GET", "/payments", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 4


def test_filters_in_a_chunked_body_on_get_are_applied_too(merchant_api, four):
    """A body without Content-Length (Transfer-Encoding: chunked) is read as well: only a GET
    with neither header has no body to read."""

    def chunks() -> Iterator[bytes]:
        yield b'{"status": '
        yield b'"cancelled"}'

    response = merchant_api.request("GET", "/payments", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    assert ids(response.json()) == [four["cancelled"]["id"]]
