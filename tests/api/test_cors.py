"""CORS, served in process on both databases: what a merchant's page in a browser may call.

Only what a publishable key may call (`publishable_methods`: today POST /tokens) answers a
preflight and carries Access-Control-Allow-Origin, on every answer (errors included, so a page
can read the error envelope). Everything else stays closed: its preflight is refused without
any CORS header, and its answers carry none. A preflight needs no key and no database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from komoju_server.store import StoreUnavailable
from tests.api.payment_support import Match, card, error
from tests.inprocess import InProcessServer

ORIGIN = "http://localhost:3000"
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "access-control-allow-credentials",
)
EXPOSED = "X-Request-Id, Idempotent-Replayed, Retry-After, X-KOMOJU-API-VERSION"
CLOSED_403 = "You are not authorized to perform that action."
CLOSED = error(
    "forbidden",
    message="This endpoint cannot be called from a browser: it needs the secret key, on your server.",
)
TOKEN_ID = Match(r"tok_[a-z0-9]{25}")
KONBINI = {"type": "konbini", "store": "lawson", "email": "buyer@example.com"}


@pytest.fixture
def anonymous(server: InProcessServer) -> Iterator[httpx.Client]:
    """What a browser sends a preflight with: no key."""
    with server.client(None) as client:
        yield client


@pytest.fixture
def public(server: InProcessServer) -> Iterator[httpx.Client]:
    """A merchant's page: the publishable key, from another origin."""
    with server.client(server.publishable_key, headers={"Origin": ORIGIN}) as client:
        yield client


def preflight(client: httpx.Client, path: str, method: str = "POST", **headers: str) -> httpx.Response:
    wanted = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
        **headers,
    }
    return client.options(path, headers=wanted)


def cors_of(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in CORS_HEADERS if name in response.headers}


# The CORS headers of an actual answer the page may read.
OPENED = {"access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED}


# -- preflights --------------------------------------------------------------------------------


def test_a_preflight_for_tokens_answers_204_with_what_the_page_may_send(anonymous):
    response = preflight(anonymous, "/tokens", **{"Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204
    assert response.content == b""
    assert cors_of(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": (
            "Authorization, Content-Type, X-KOMOJU-IDEMPOTENCY, X-KOMOJU-API-VERSION, Komoju-Scenario, X-Request-Id"
        ),
        "access-control-max-age": "7200",
    }


def test_a_preflight_answers_the_same_whatever_the_origin_and_trailing_slash(anonymous):
    first = preflight(anonymous, "/tokens")
    other = preflight(anonymous, "/tokens/", Origin="https://shop.example.jp")
    assert (first.status_code, other.status_code) == (204, 204)
    assert cors_of(first) == cors_of(other)


def test_a_preflight_with_a_key_is_answered_the_same(server):
    # Browsers never send one; a preflight does not look at it either way.
    for key in (server.secret_key, server.publishable_key, "sk_test_nobody"):
        with server.client(key) as client:
            response = preflight(client, "/tokens")
        assert response.status_code == 204
        assert cors_of(response)["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/payments"),  # secret key only: the browser must not send it
        ("GET", "/payments"),
        ("GET", "/payments/bncg5974hoii95erwy2gqx7vz"),
        ("POST", "/payments/bncg5974hoii95erwy2gqx7vz/capture"),
        ("POST", "/customers"),
        ("GET", "/events"),
        ("POST", "/webhooks"),
        ("POST", "/sandbox/reset"),
        ("GET", "/tokens"),  # the resource is open, but only for POST
        ("DELETE", "/tokens"),
    ],
)
def test_a_preflight_for_what_needs_the_secret_key_is_refused_without_cors_headers(anonymous, method, path):
    response = preflight(anonymous, path, method)
    assert (response.status_code, response.json()) == (403, CLOSED)
    assert cors_of(response) == {}


def test_a_preflight_outside_the_api_is_refused_too(server):
    with server.client(None, base_url=server.url) as client:
        response = preflight(client, "/health", "GET")
    assert (response.status_code, response.json()) == (403, CLOSED)
    assert cors_of(response) == {}


def test_a_preflight_for_nothing_is_not_found(anonymous):
    response = preflight(anonymous, "/nothing/here")
    assert (response.status_code, response.json()) == (404, error("not_found"))
    assert cors_of(response) == {}


def test_an_options_request_that_is_not_a_preflight_is_routed_as_before(anonymous):
    # No Access-Control-Request-Method: an ordinary request, which needs a key like any other.
    response = anonymous.options("/tokens", headers={"Origin": ORIGIN})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    assert cors_of(response) == {}


def test_a_preflight_is_answered_in_maintenance_and_the_503_is_readable(server, anonymous, public):
    server.runtime.maintenance = True
    try:
        answered = preflight(anonymous, "/tokens")
        refused = public.post("/tokens", json={"payment_details": KONBINI})
        closed = public.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": card()})
    finally:
        server.runtime.maintenance = False
    assert answered.status_code == 204
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "service_unavailable")
    assert cors_of(refused) == OPENED
    assert closed.status_code == 503 and cors_of(closed) == {}


# -- actual answers ----------------------------------------------------------------------------


def test_a_token_made_from_another_origin_is_readable_and_pays(public, api):
    response = public.post("/tokens", json={"payment_details": card()})
    assert response.status_code == 200
    assert response.json()["id"] == TOKEN_ID
    assert cors_of(response) == OPENED
    paid = api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": response.json()["id"]})
    assert (paid.status_code, paid.json()["status"]) == (200, "captured")
    assert cors_of(paid) == {}  # the secret key's own call carries nothing


@pytest.mark.parametrize(
    ("key", "body", "status", "expected"),
    [
        (None, {"payment_details": card()}, 401, error("unauthorized", message="User authorization failed.")),
        (
            "pk_test_unknown",
            {"payment_details": card()},
            401,
            error("unauthorized", message="User authorization failed."),
        ),
        (
            "publishable",
            {"payment_details": {"type": "konbini"}},
            422,
            error("missing_parameter", "payment_details[store]"),
        ),
        (
            "publishable",
            {"payment_details": card(number="4111")},
            422,
            error("invalid_parameter", "payment_details[number]"),
        ),
        ("publishable", {}, 422, error("missing_parameter", "payment_details")),
    ],
)
def test_errors_of_an_open_endpoint_are_readable_too(server, key, body, status, expected):
    with server.client(server.publishable_key if key == "publishable" else key, headers={"Origin": ORIGIN}) as page:
        response = page.post("/tokens", json=body)
    assert (response.status_code, response.json()) == (status, expected)
    assert cors_of(response) == OPENED


def test_a_bad_body_is_readable(public):
    response = public.post("/tokens", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
    assert cors_of(response) == OPENED


def test_a_replayed_token_answer_is_readable_and_says_it_is_a_replay(public):
    headers = {"X-KOMOJU-IDEMPOTENCY": "cors-" + uuid.uuid4().hex}
    first = public.post("/tokens", json={"payment_details": KONBINI}, headers=headers)
    again = public.post("/tokens", json={"payment_details": KONBINI}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert cors_of(again) == OPENED


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": card()}),
        ("GET", "/payments", None),
        ("POST", "/customers", {"payment_details": card()}),
        ("GET", "/events", None),
    ],
)
def test_what_the_publishable_key_may_not_call_carries_no_cors_headers(public, method, path, body):
    response = public.request(method, path, json=body)
    assert (response.status_code, response.json()) == (403, error("forbidden", message=CLOSED_403))
    assert cors_of(response) == {}


def test_secret_key_answers_carry_no_cors_headers(server, api):
    with server.client(server.secret_key, headers={"Origin": ORIGIN}) as page:
        listed = page.get("/payments")
        missing = page.get("/payments/bncg5974hoii95erwy2gqx7vz")
    assert (listed.status_code, missing.status_code) == (200, 404)
    assert cors_of(listed) == cors_of(missing) == {}


# -- no database -------------------------------------------------------------------------------


def test_a_preflight_needs_no_database(database_url):
    """With every query refused, a preflight is still answered; a call that needs the database
    is 503, which the page can read."""
    server = InProcessServer.start(database_url)
    store: Any = server.runtime.store

    async def gone(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("test: the database is gone")

    try:
        for name in ("fetch_one", "fetch_all", "run"):
            setattr(store, name, gone)
        with server.client(None) as anonymous:
            answered = preflight(anonymous, "/tokens")
            refused = preflight(anonymous, "/payments")
        with server.client("pk_test_" + "0" * 32, headers={"Origin": ORIGIN}) as page:
            unavailable = page.post("/tokens", json={"payment_details": KONBINI})
    finally:
        server.stop()
    assert answered.status_code == 204 and cors_of(answered)["access-control-allow-origin"] == "*"
    assert refused.status_code == 403 and cors_of(refused) == {}
    assert (unavailable.status_code, unavailable.json()["error"]["code"]) == (503, "service_unavailable")
    assert cors_of(unavailable) == OPENED
