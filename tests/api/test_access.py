"""The request line's ASGI layer (api/access.py) around stand-in applications, and what the
real application notes for it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from komoju_server.api.access import ANSWERED, AccessLog
from komoju_server.console import Console


class Noted(Console):
    prints = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int, float, str]] = []

    def request(self, method: str, path: str, status: int, duration_ms: float, request_id: str) -> None:
        self.requests.append((method, path, status, duration_ms, request_id))


def scope(**change: Any) -> dict[str, Any]:
    base = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/payments",
        "raw_path": b"/api/v1/payments",
        "query_string": b"email=someone%40example.com",
        "headers": [(b"authorization", b"Basic c2tfdGVzdF94Og==")],
    }
    base.update(change)
    return base


def serve(app: Any, the_scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(the_scope, receive, send))
    return sent


def answering(status: int, headers: list[tuple[bytes, bytes]], request_id: str = "") -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(0.01)
        scope[ANSWERED] = (status, request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def test_a_request_is_noted_with_its_status_request_id_and_duration_and_passed_on_untouched():
    noted = Noted()
    headers = [(b"content-type", b"application/json"), (b"x-request-id", b"abc123")]
    app = answering(201, headers, "abc123")
    sent = serve(AccessLog(app, noted), scope(raw_path=b"/api/v1/payments%2Fx?leak=1"))
    assert sent == [
        {"type": "http.response.start", "status": 201, "headers": headers},
        {"type": "http.response.body", "body": b"{}"},
    ]
    ((method, path, status, duration_ms, request_id),) = noted.requests
    assert (method, path, status, request_id) == ("GET", "/api/v1/payments%2Fx", 201, "abc123")
    assert 10 <= duration_ms < 5000


def test_without_raw_path_the_decoded_path_is_used():
    noted = Noted()
    serve(AccessLog(answering(200, []), noted), scope(raw_path=None, path="/health"))
    assert noted.requests[0][:3] == ("GET", "/health", 200)
    assert noted.requests[0][4] == ""


def test_a_request_that_fails_before_answering_is_noted_as_500():
    noted = Noted()

    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        serve(AccessLog(broken, noted), scope(method="POST"))
    assert noted.requests[0][:3] == ("POST", "/api/v1/payments", 500)


def test_lifespan_passes_through_unnoted():
    noted = Noted()
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    serve(AccessLog(app, noted), {"type": "lifespan"})
    assert seen == ["lifespan"]
    assert noted.requests == []


def test_around_the_application_each_line_has_the_status_and_request_id_it_answered(tmp_path):
    """What AccessLog prints is what the application answered: its status, and the request id
    it answered with (the client's own, or one it made), errors and preflights included."""
    import httpx

    from tests.inprocess import LoopTransport
    from tests.webhooks.harness import fresh_database, own_app

    noted = Noted()
    with fresh_database("sqlite", tmp_path) as url, own_app(url) as server:
        transport = LoopTransport(AccessLog(server.app, noted), server._loop)
        with httpx.Client(transport=transport, base_url=server.url) as client:
            key = (server.secret_key, "")
            answers = [
                client.get("/api/v1/payments", auth=key),
                client.get("/api/v1/payments", auth=("sk_test_nope", "")),
                client.get("/api/v1/nothing-here", auth=key),
                client.get("/api/v1/payments", auth=key, headers={"X-KOMOJU-API-VERSION": "1999-01-01"}),
                client.get("/health", headers={"X-Request-Id": "given-id"}),
                client.options(
                    "/api/v1/tokens",
                    headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
                ),
            ]
    assert [a.status_code for a in answers] == [200, 401, 404, 400, 200, 204]
    assert [(path, status, request_id) for _, path, status, _, request_id in noted.requests] == [
        (a.request.url.path, a.status_code, a.headers.get("X-Request-Id", "")) for a in answers
    ]
    assert noted.requests[4][4] == "given-id"
