"""Reading a body: whole from the first message or through the stream, within the limit; a body
the connection ended halfway (the client gone, or timed out: protocol.py) is never acted on; in
process there is no connection to ask."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import falcon.asgi
import pytest

from komoju_server.api.requests import cut_off, raw_body, request_type
from komoju_server.domain.errors import ApiError
from komoju_server.limits import Limits
from komoju_server.protocol import BODY_EXTENSION


class _Cycle:  # uvicorn's request cycle, as far as cut_off reads it
    def __init__(self, more_body: bool) -> None:
        self.more_body = more_body


def test_a_body_is_cut_off_while_the_connection_still_expected_more():
    expecting, complete = _Cycle(more_body=True), _Cycle(more_body=False)
    assert cut_off({"extensions": {BODY_EXTENSION: weakref.ref(expecting)}}) is True
    assert cut_off({"extensions": {BODY_EXTENSION: weakref.ref(complete)}}) is False


def test_in_process_nothing_is_cut_off():
    assert cut_off({}) is False
    assert cut_off({"extensions": {}}) is False


# -- the body, whole in the first message or streamed ---------------------------------------

FORM = b"amount=1000&currency=JPY"


def _falcon_request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]], extensions: Any = None) -> Any:
    """A request as the app makes it: the first message taken by Falcon, the rest to receive."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/payments",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
    }
    if extensions is not None:
        scope["extensions"] = extensions
    rest = iter(messages[1:])

    async def receive() -> dict[str, Any]:
        return next(rest)

    kind = request_type(Limits(max_body=64))
    return kind(scope, receive, first_event=messages[0], options=falcon.asgi.App().req_options)


def _read(req: Any) -> bytes:
    return asyncio.run(raw_body(req))


def test_a_body_that_came_whole_is_taken_from_the_first_message():
    length = [(b"content-length", str(len(FORM)).encode())]
    req = _falcon_request([{"type": "http.request", "body": FORM, "more_body": False}], length)
    assert req.whole_body() == FORM
    assert _read(req) == FORM


def test_a_body_in_several_messages_is_read_through_the_stream():
    chunked = [(b"transfer-encoding", b"chunked")]
    messages = [
        {"type": "http.request", "body": FORM[:10], "more_body": True},
        {"type": "http.request", "body": FORM[10:], "more_body": False},
    ]
    req = _falcon_request(messages, chunked)
    assert req.whole_body() is None
    assert _read(req) == FORM


def test_a_whole_body_is_held_to_the_limit_and_to_the_connection():
    big = b"a=" + b"x" * 70
    req = _falcon_request([{"type": "http.request", "body": big, "more_body": False}], [])
    with pytest.raises(ApiError) as too_large:
        _read(req)
    assert too_large.value.status == 413
    halfway = _Cycle(more_body=True)
    req = _falcon_request(
        [{"type": "http.request", "body": FORM, "more_body": False}], [], {BODY_EXTENSION: weakref.ref(halfway)}
    )
    with pytest.raises(ApiError, match="cut off"):
        _read(req)


def test_a_request_without_a_body_reads_none():
    req = _falcon_request([{"type": "http.request", "body": b"", "more_body": False}], [])
    assert _read(req) == b""
