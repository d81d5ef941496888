"""Reading what a request carries: its decoded body and query string, within the server's limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import falcon.asgi

from komoju_server.api.forms import BodyError, decode_body, decode_form
from komoju_server.domain.errors import ApiError
from komoju_server.limits import Limits, body_too_large
from komoju_server.protocol import BODY_EXTENSION


class LimitedRequest(falcon.asgi.Request):
    """A request that knows the limits of the server it came to (limits.py). Each app makes its
    own subclass (`request_type`), so limits cost no lookup per request and two apps in one
    process (the tests) keep theirs apart."""

    limits: ClassVar[Limits] = Limits()

    def whole_body(self) -> bytes | None:
        """The body, when it came whole in the request's first ASGI message, as every body
        within uvicorn's read size does; else None (it is read through `stream`). Falcon
        receives that message before it makes the request and keeps it for the stream: taking
        it here spares the stream and the Content-Length parsing, a tenth of a small POST's
        edge (bench.instructions). Whether the client sent it all is `cut_off`'s to say."""
        event = self._first_event
        if event is None or event.get("more_body") or self._stream is not None:
            return None
        body: bytes = event.get("body", b"")
        return body


def request_type(limits: Limits) -> type[LimitedRequest]:
    return type("LimitedRequest", (LimitedRequest,), {"limits": limits})


def peer_address(scope: Mapping[str, Any]) -> str:
    """The address of the socket's other end, from a request's ASGI scope: what the throttle
    counts against. Falcon's `remote_addr` ends in the same address, but parses Forwarded and
    X-Forwarded-For first on every call; those headers are not trusted here (server.py)."""
    client = scope.get("client")
    return client[0] if client else "127.0.0.1"  # no peer known (a Unix socket): as Falcon says


def limits_of(req: falcon.asgi.Request) -> Limits:
    return getattr(req, "limits", LimitedRequest.limits)


async def raw_body(req: falcon.asgi.Request) -> bytes:
    """The body's bytes: 413 when it is longer than the limit, or when a body still to be
    streamed is declared longer. The connection refuses a declared length or a chunked body
    over the limit already (protocol.py); in process (the tests), the body is caught here,
    having read one byte more at most."""
    whole = req.whole_body() if isinstance(req, LimitedRequest) else None
    if whole is not None:
        return _checked(req, whole)
    if not req.content_length and req.get_header("Transfer-Encoding") is None:
        return b""  # a request with neither header has no body (RFC 9112, 6.3): nothing to read
    limit = limits_of(req).max_body
    if (req.content_length or 0) > limit:
        raise body_too_large(limit)
    return _checked(req, await req.stream.read(limit + 1))


def _checked(req: falcon.asgi.Request, raw: bytes) -> bytes:
    problem = body_problem(raw, limits_of(req).max_body, req.scope)
    if problem is not None:
        raise problem
    return raw


def body_problem(raw: bytes, limit: int, scope: Mapping[str, Any]) -> ApiError | None:
    """What is wrong with a body read whole, if anything: longer than the limit (413), or cut
    off because the client went away (or timed out) halfway: a part of a request is not a
    request. Nobody hears that answer; what matters is that nothing is done."""
    if len(raw) > limit:
        return body_too_large(limit)
    if cut_off(scope):
        return ApiError("bad_request", message="The request body was cut off.")
    return None


def cut_off(scope: Mapping[str, Any]) -> bool:
    """Whether the body just read ended because the connection did, not because it was all
    sent (see protocol.BODY_EXTENSION). Always false in process, where no connection is."""
    cycle = scope.get("extensions", {}).get(BODY_EXTENSION)
    progress = cycle() if cycle is not None else None
    return progress is not None and bool(progress.more_body)


async def body(req: falcon.asgi.Request) -> dict[str, Any]:
    raw = getattr(req.context, "raw_body", None)  # already read (by the idempotency middleware)
    if raw is None:
        raw = await raw_body(req)
        req.context.raw_body = raw
    return decode_body(raw, req.content_type, limits_of(req))


def query(req: falcon.asgi.Request) -> dict[str, Any]:
    return decode_query(req.query_string, limits_of(req))


def decode_query(query_string: str | bytes, limits: Limits) -> dict[str, Any]:
    """A query string's fields (as ASGI's bytes, or text); one that is not UTF-8 is a 400."""
    try:
        if isinstance(query_string, bytes):
            query_string = query_string.decode()
        return decode_form(query_string, limits)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError() from exc


async def list_query(req: falcon.asgi.Request) -> dict[str, Any]:
    """A list's filters and paging: the query string, and a body if the request has one."""
    return merged_query(query(req), await body(req))


def merged_query(found: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """A list's query string (`found`) over its body (`sent`).

    An older KOMOJU Ruby client (heroics-based `komoju` gem) sends a list's filters as a JSON
    body on the GET; KOMOJU, a Rails app, reads body and query string into the same params.
    Where both name a field, the query string wins: it is what the URL addresses, and a
    client adding a parameter to a URL means it. An undecodable body is 400, as on a POST.
    """
    return {**sent, **found} if sent else found
