"""The routes answered without Falcon (api/direct.py) answer as the Falcon path does.

Each request goes once through the app as `serve` runs it, where a direct route takes it, and
once through the Falcon app alone (`DirectRoutes.app`), where the same route's Falcon
resource answers it: the status, every header and the body's bytes must be the same (once new
ids, times and konbini numbers, which no two payments share, are set aside).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from komoju_server.api.direct import Call, DirectRoutes
from tests.api.payment_support import BANK_ACCOUNT, card, konbini
from tests.inprocess import InProcessServer, LoopTransport

# The same request id on both paths, so that their answers can be compared byte for byte.
REQUEST_ID = "parity-check"
KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.com", "phone": "0312345678"}
PAGE = "/api/v1/payments"


@pytest.fixture
def paths(server: InProcessServer, merchant: dict[str, str]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two clients of one merchant's test mode: the served app, and its Falcon app alone."""
    framework = LoopTransport(server.app.app, server._loop)
    auth = (merchant["test_secret_key"], "")
    headers = {"X-Request-Id": REQUEST_ID}
    with (
        httpx.Client(transport=server.transport, base_url=server.url, auth=auth, headers=headers) as direct,
        httpx.Client(transport=framework, base_url=server.url, auth=auth, headers=headers) as through_falcon,
    ):
        yield direct, through_falcon


def _comparable(response: httpx.Response, ids: tuple[str, ...]) -> tuple[int, list[tuple[str, str]], bytes]:
    body = response.content
    for found in ids:
        body = body.replace(found.encode(), b"<id>")
    body = re.sub(rb'"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"', b'"<time>"', body)
    body = re.sub(rb'"(receipt|confirmation_code)":"[^"]*"', rb'"\1":"<made>"', body)  # a konbini's own
    body = re.sub(rb'"id":"[a-z0-9]{25}"', b'"id":"<id>"', body)  # a refund's, a refund request's
    return response.status_code, sorted(response.headers.multi_items()), body


def _ids(response: httpx.Response) -> tuple[str, ...]:
    try:
        answer = response.json()
    except ValueError:
        return ()
    if not isinstance(answer, dict):
        return ()
    found = [answer.get("id")] + [item.get("id") for item in answer.get("data") or []]
    return tuple(value for value in found if isinstance(value, str))


def _both(paths: tuple[httpx.Client, httpx.Client], method: str, url: str, **kwargs: Any) -> httpx.Response:
    direct, through_falcon = paths
    first = direct.request(method, url, **kwargs)
    second = through_falcon.request(method, url, **kwargs)
    ids = _ids(first) + _ids(second)
    assert _comparable(first, ids) == _comparable(second, ids)
    return first


CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("a card payment", "POST", PAGE, {"json": {"amount": 1000, "currency": "JPY", "payment_details": card()}}),
    (
        "a konbini payment as a form",
        "POST",
        PAGE,
        {"data": {"amount": "1200", "currency": "JPY", **{f"payment_details[{k}]": v for k, v in KONBINI.items()}}},
    ),
    ("an amount out of range", "POST", PAGE, {"json": {"amount": -1, "currency": "JPY", "payment_details": card()}}),
    ("no payment details", "POST", PAGE, {"json": {"amount": 1000, "currency": "JPY"}}),
    ("a body that is not JSON", "POST", PAGE, {"content": b"{nope", "headers": {"Content-Type": "application/json"}}),
    ("an empty body", "POST", PAGE, {}),
    (
        "a declined card (a test scenario)",
        "POST",
        PAGE,
        {
            "json": {"amount": 1000, "currency": "JPY", "payment_details": card()},
            "headers": {"Komoju-Scenario": "card_declined"},
        },
    ),
    ("an unknown test scenario", "POST", PAGE, {"json": {}, "headers": {"Komoju-Scenario": "nonsense"}}),
    (
        "the newer version",
        "POST",
        PAGE,
        {
            "json": {"amount": 1000, "currency": "JPY", "payment_details": card()},
            "headers": {"X-KOMOJU-API-VERSION": "2025-01-28"},
        },
    ),
    ("an unknown version", "GET", PAGE, {"headers": {"X-KOMOJU-API-VERSION": "1999-01-01"}}),
    ("the version sent twice", "GET", PAGE, {"headers": [("X-KOMOJU-API-VERSION", "2024-07-15")] * 2}),
    ("a list page", "GET", PAGE, {"params": {"per_page": "2"}}),
    ("a filtered list", "GET", PAGE, {"params": {"status": "captured", "currency": "JPY"}}),
    ("a list's filters in a JSON body", "GET", PAGE, {"json": {"per_page": 1}}),
    ("a page out of range", "GET", PAGE, {"params": {"page": "0"}}),
    ("a payment that is not there", "GET", PAGE + "/abc123", {}),
    ("an id that cannot be one", "GET", PAGE + "/ABC%00x", {}),
    ("an origin's request", "GET", PAGE, {"headers": {"Origin": "https://shop.example"}}),
    ("an invalid Content-Length", "POST", PAGE, {"content": b"amount=1", "headers": {"Content-Length": "x"}}),
    ("a refund of no payment", "POST", PAGE + "/abc123/refund", {"json": {"amount": 100}}),
    ("a change to no payment", "PATCH", PAGE + "/abc123", {"json": {"metadata": {"a": "b"}}}),
    ("a session", "POST", "/api/v1/sessions", {"json": {"amount": 1000, "currency": "JPY"}}),
    ("a session without an amount", "POST", "/api/v1/sessions", {"json": {"currency": "JPY"}}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_direct_route_answers_as_falcon_does(paths, method: str, url: str, kwargs: dict[str, Any]):
    _both(paths, method, url, **kwargs)


def test_a_payment_is_shown_as_falcon_shows_it(paths):
    made = _both(paths, "POST", PAGE, json={"amount": 1000, "currency": "JPY", "payment_details": card()})
    assert made.status_code == 200
    shown = _both(paths, "GET", f"{PAGE}/{made.json()['id']}")
    assert shown.json()["id"] == made.json()["id"]


def _pair(paths: tuple[httpx.Client, httpx.Client], details: dict[str, Any], **extra: Any) -> tuple[str, str]:
    """Two payments alike, one for each path to act on."""
    body = {"amount": 1000, "currency": "JPY", "payment_details": details, **extra}
    made = [paths[0].post(PAGE, json=body) for _ in paths]
    assert all(response.status_code == 200 for response in made), [response.text for response in made]
    return made[0].json()["id"], made[1].json()["id"]


def _both_on(
    paths: tuple[httpx.Client, httpx.Client], pair: tuple[str, str], method: str, after: str, **kwargs: Any
) -> httpx.Response:
    """The same request to each path, each about its own one of a pair of payments."""
    direct, through_falcon = paths
    first = direct.request(method, f"{PAGE}/{pair[0]}{after}", **kwargs)
    second = through_falcon.request(method, f"{PAGE}/{pair[1]}{after}", **kwargs)
    ids = pair + _ids(first) + _ids(second)
    assert _comparable(first, ids) == _comparable(second, ids)
    return first


NOT_JSON = {"content": b"{", "headers": {"Content-Type": "application/json"}}
# (name, the pair's extra fields, method, after the payment's path, request, status, error code)
ACTIONS: list[tuple[str, dict[str, Any], str, str, dict[str, Any], int, str | None]] = [
    ("a refund", {}, "POST", "/refund", {"json": {"amount": 300, "description": "part"}}, 200, None),
    ("a refund of too much", {}, "POST", "/refund", {"json": {"amount": 5000}}, 422, "not_refundable"),
    ("a refund in a form", {}, "POST", "/refund", {"data": {"amount": "300"}}, 200, None),
    ("a refund with a body that is not JSON", {}, "POST", "/refund", NOT_JSON, 400, "bad_request"),
    ("a capture", {"capture": False}, "POST", "/capture", {"json": {}}, 200, None),
    ("a capture of a captured payment", {}, "POST", "/capture", {"json": {}}, 422, "not_capturable"),
    ("a cancel", {"capture": False}, "POST", "/cancel", {}, 200, None),
    ("a cancel with a body that is not JSON", {"capture": False}, "POST", "/cancel", NOT_JSON, 400, "bad_request"),
    ("a card payment's refund request", {}, "POST", "/refund_request", {"json": BANK_ACCOUNT}, 422, "not_refundable"),
    ("a change", {}, "PATCH", "", {"json": {"metadata": {"order": "42"}, "description": "changed"}}, 200, None),
    ("a change that cannot be made", {}, "PATCH", "", {"json": {"metadata": "no"}}, 422, "invalid_parameter"),
]


@pytest.mark.parametrize(
    ("extra", "method", "after", "kwargs", "status", "code"),
    [case[1:] for case in ACTIONS],
    ids=[case[0] for case in ACTIONS],
)
def test_an_action_is_answered_as_falcon_answers_it(
    paths, extra: dict[str, Any], method: str, after: str, kwargs: dict[str, Any], status: int, code: str | None
):
    answer = _both_on(paths, _pair(paths, card(), **extra), method, after, **kwargs)
    assert answer.status_code == status
    assert answer.json().get("error", {}).get("code") == code


def test_a_paid_konbini_payment_is_refunded_by_request_as_falcon_refunds_it(paths):
    pair = _pair(paths, konbini(phone="0312345678"))
    for payment_id in pair:
        assert paths[0].post(f"/api/v1/sandbox/payments/{payment_id}/complete").status_code == 200
    requested = _both_on(paths, pair, "POST", "/refund_request", json={**BANK_ACCOUNT, "amount": 500})
    assert requested.status_code == 200
    assert requested.json()["refund_requests"][0]["amount"] == 500


@pytest.mark.parametrize(
    ("name", "key"),
    [("no key", None), ("an unknown key", "sk_test_nobody"), ("the publishable key", "publishable")],
)
def test_a_refused_caller_is_answered_as_falcon_answers_it(paths, merchant, name: str, key: str | None):
    auth = (merchant["test_publishable_key"], "") if key == "publishable" else ((key, "") if key else None)
    for client in paths:
        client.auth = auth  # type: ignore[assignment]
    refused = _both(paths, "POST", PAGE, json={"amount": 1000, "currency": "JPY", "payment_details": card()})
    assert refused.status_code == (403 if key == "publishable" else 401)


def test_maintenance_is_answered_as_falcon_answers_it(server, paths, merchant):
    server.runtime.maintenance = True
    try:
        assert _both(paths, "GET", PAGE).status_code == 503
    finally:
        server.runtime.maintenance = False
    assert paths[0].post("/api/v1/sandbox/maintenance", json={"enabled": True}).status_code == 200
    assert _both(paths, "POST", PAGE, json={}).status_code == 503


def test_a_body_over_the_limit_is_refused_as_falcon_refuses_it(paths, server):
    limit = server.settings.limits.max_body
    too_large = _both(paths, "POST", PAGE, content=b"a" * (limit + 1), headers={"Content-Type": "text/plain"})
    assert too_large.status_code == 413
    assert too_large.headers["Connection"] == "close"


# -- what only the direct path does ------------------------------------------------------------


def _asgi(
    server: InProcessServer,
    method: str,
    path: str,
    messages: list[dict[str, Any]],
    query_string: bytes = b"",
    **headers: str,
) -> Any:
    """Sends `messages` as the request's body messages to the served app; its answer's
    messages (a disconnect once they are all taken)."""
    sent: list[dict[str, Any]] = []
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw = [(name.lower().replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:9"),
            (b"authorization", b"Basic " + base64.b64encode(server.secret_key.encode() + b":")),
            *raw,
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 9),
    }
    server.run(server.app(scope, receive, send))
    return sent


def test_a_body_in_several_messages_is_read_whole(server):
    form = b"amount=1500&currency=JPY&payment_details[type]=konbini&payment_details[store]=lawson"
    form += b"&payment_details[email]=a@example.com&payment_details[phone]=0312345678"
    parts = [form[:10], form[10:40], form[40:]]
    messages = [{"type": "http.request", "body": part, "more_body": i < 2} for i, part in enumerate(parts)]
    sent = _asgi(
        server,
        "POST",
        PAGE,
        messages,
        content_type="application/x-www-form-urlencoded",
        content_length=str(len(form)),
    )
    assert sent[0]["status"] == 200
    answer = orjson.loads(sent[1]["body"])
    assert (answer["amount"], answer["payment_details"]["store"]) == (1500, "lawson")


def test_a_declared_body_over_the_limit_is_not_read(server):
    limit = server.settings.limits.max_body
    messages = [{"type": "http.request", "body": b"a" * 10, "more_body": True}]
    sent = _asgi(server, "POST", PAGE, messages, content_length=str(limit + 1))
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_query_string_that_is_not_utf8_is_a_400(server):
    sent = _asgi(server, "GET", PAGE, [{"type": "http.request", "body": b""}], query_string=b"status=\xff")
    assert sent[0]["status"] == 400
    assert orjson.loads(sent[1]["body"])["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/payments/", "/api/v1/events", "/health"])
def test_a_query_string_that_is_not_utf8_is_a_400_on_falcons_routes_too(server, path):
    # Falcon decodes the query string while it makes its request, before any of its handlers:
    # left to it, the UnicodeDecodeError reached the ASGI server (a bare 500).
    request = [{"type": "http.request", "body": b""}]
    sent = _asgi(server, "GET", path, request, query_string=b"a=\xff", x_request_id="req-q")
    assert sent[0]["status"] == 400
    headers = dict(sent[0]["headers"])
    assert headers[b"x-request-id"] == b"req-q"
    assert headers[b"content-type"] == b"application/json; charset=utf-8"
    assert int(headers[b"content-length"]) == len(sent[1]["body"])
    error = orjson.loads(sent[1]["body"])["error"]
    assert (error["code"], error["param"]) == ("bad_request", None)


def test_a_client_gone_before_its_request_came_is_not_answered(server):
    assert _asgi(server, "GET", PAGE, [{"type": "http.disconnect"}]) == []


def test_a_failure_in_a_direct_handler_is_a_logged_500_without_secrets(server, caplog: pytest.LogCaptureFixture):
    routes: DirectRoutes = server.app

    async def exploding(call: Call) -> tuple[Any, int]:
        raise RuntimeError("card 4111111111111111 cvv 987")

    routes.add("GET", "/api/v1/direct-test/{id}", exploding)
    with caplog.at_level(logging.ERROR, logger="komoju_server"):
        request = [{"type": "http.request", "body": b""}]
        sent = _asgi(server, "GET", "/api/v1/direct-test/abc", request, x_request_id="req-9")
    assert sent[0]["status"] == 500
    assert orjson.loads(sent[1]["body"])["error"]["code"] == "internal_server_error"
    logged = [r.getMessage() for r in caplog.records if r.name == "komoju_server"]
    assert len(logged) == 1 and "req-9" in logged[0] and "RuntimeError" in logged[0]
    assert "4111111111111111" not in logged[0] and "987" not in logged[0]
