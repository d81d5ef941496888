"""The API's busiest routes, answered on ASGI directly instead of through Falcon.

Falcon, its request and response objects and its middleware hooks cost a request about as much
as the bare read baseline's whole answer to a GET of a payment (bench/README.md, "the edge").
The routes declared here (every /payments route, and POST /sessions) are answered by this
layer in front of the Falcon app: the same steps in the same order (`middleware.Gate`), the
same error answers (`errors.answer_for`) and the same headers as the Falcon path gives them.
A route declared with `route` has one handler per method, taking a `Call` and giving the
answer's body and status; Falcon gets the same handlers as a resource (`FalconResource`), so
what it answers of these routes is answered alike. tests/api/test_direct.py holds the two
paths to that, request for request.

Whatever this layer does not take goes to Falcon: every other route, a trailing slash, HEAD
and OPTIONS, and a POST with X-KOMOJU-IDEMPOTENCY (its claim and replay are the idempotency
middleware's). A direct route takes the secret key only: the routes a publishable key may
call, and so browsers through CORS (api/cors.py), stay with Falcon.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import falcon.asgi
import orjson

from komoju_server.api.access import ANSWERED, Message, Receive, Scope, Send
from komoju_server.api.errors import answer_for
from komoju_server.api.forms import BodyError, decode_body
from komoju_server.api.middleware import Gate
from komoju_server.api.requests import (
    body_problem,
    decode_query,
    limits_of,
    merged_query,
    peer_address,
    raw_body,
)
from komoju_server.api.responses import JSON, send
from komoju_server.domain import idempotency, versions
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.limits import Limits, body_too_large

_JSON = JSON.encode("latin-1")
# Header names a request may send more than once where the last one counts (Falcon's
# `_SINGLETON_HEADERS_BYTESTR`); any other repeated header's values are joined with commas.
_SINGLE = frozenset(
    (
        b"content-type",
        b"max-forwards",
        b"cookie",
        b"host",
        b"content-length",
        b"expect",
        b"referer",
        b"user-agent",
        b"from",
    )
)
_IDEMPOTENCY = idempotency.HEADER.lower().encode("latin-1")
_VERSION = versions.HEADER.lower().encode("latin-1")


class Call:
    """One request to a direct route, as its handler sees it: who calls, what the path names,
    and what came with it. The body is read when the handler asks for it, as a Falcon
    responder reads it (requests.raw_body): errors of the body come after the key's."""

    __slots__ = ("caller", "params", "scope", "headers", "limits", "_first", "_receive", "_raw")

    def __init__(
        self,
        caller: Caller,
        params: tuple[str, ...],
        scope: Scope,
        headers: dict[bytes, bytes],
        limits: Limits,
        first: Message,
        receive: Receive,
    ) -> None:
        self.caller = caller
        self.params = params
        self.scope = scope
        self.headers = headers
        self.limits = limits
        self._first = first
        self._receive = receive
        self._raw: bytes | None = None

    @property
    def prefix(self) -> str:
        """The scheme, host and root path of the request's URL, as Falcon's `req.prefix`: the
        Host header, else the server's own address."""
        scope = self.scope
        scheme = scope.get("scheme", "http")
        host = self.headers.get(b"host")
        if host is not None:
            netloc = host.decode("latin-1")
        else:
            name, port = scope["server"]
            netloc = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
        return f"{scheme}://{netloc}{scope.get('root_path', '')}"

    def header(self, lowercase_name: bytes) -> str | None:
        value = self.headers.get(lowercase_name)
        return None if value is None else value.decode("latin-1")

    async def body(self) -> dict[str, Any]:
        raw = self._raw
        if raw is None:
            raw = self._raw = await self._read()
        return decode_body(raw, self.header(b"content-type"), self.limits)

    async def list_query(self) -> dict[str, Any]:
        """A list's filters and paging: the query string over the body (requests.list_query)."""
        return merged_query(decode_query(self.scope["query_string"], self.limits), await self.body())

    async def _read(self) -> bytes:
        limit = self.limits.max_body
        first = self._first
        raw: bytes = first.get("body", b"")
        if first.get("more_body"):
            declared = _content_length(self.headers)
            if not declared and b"transfer-encoding" not in self.headers:
                return b""  # no body declared (RFC 9112, 6.3): nothing to read, as requests.raw_body
            if (declared or 0) > limit:
                raise body_too_large(limit)
            chunks = [raw]
            size = len(raw)
            while size <= limit:
                message = await self._receive()
                if message["type"] != "http.request":
                    break  # the client went away: what came is checked below
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                if not message.get("more_body"):
                    break
            raw = b"".join(chunks)
        problem = body_problem(raw, limit, self.scope)
        if problem is not None:
            raise problem
        return raw


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    """Content-Length as Falcon reads it: an invalid one is a 400."""
    value = headers.get(b"content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise ApiError("bad_request")
    return length


# A direct route's handler: the answer's body (anything orjson encodes) and status.
Handler = Callable[[Call], Awaitable[tuple[Any, int]]]


class DirectRoutes:
    """An ASGI app: the declared routes answered here, everything else by `app`, the Falcon app
    (`add_route` adds a route of Falcon's own)."""

    def __init__(self, app: falcon.asgi.App, gate: Gate, limits: Limits) -> None:
        self.app = app
        self._gate = gate
        self._limits = limits
        self._exact: dict[tuple[str, str], Handler] = {}
        self._items: dict[tuple[str, str], Handler] = {}  # (method, the path before the id)
        self._actions: dict[tuple[str, str, str], Handler] = {}  # (method, before the id, after it)

    def route(self, template: str, **handlers: Handler) -> None:
        """Declares `template`'s handlers by method (`GET=...`, `POST=...`): answered here, and
        by Falcon through the same handlers for the requests this passes on to it."""
        for method, handler in handlers.items():
            self.add(method, template, handler)
        self.app.add_route(template, FalconResource(handlers))

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Answers `method` on `template` here: an exact path, or one with an id (`{name}`) as
        its last part or the part before the last."""
        head, _, last = template.rpartition("/")
        before, _, middle = head.rpartition("/")
        if _is_field(last):
            self._items[(method, head)] = handler
        elif _is_field(middle):
            self._actions[(method, before, last)] = handler
        else:
            self._exact[(method, template)] = handler

    def add_route(self, template: str, resource: object) -> None:
        self.app.add_route(template, resource)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = self._find(scope["method"], scope["path"])
            if found is not None:
                handler, params = found
                await self._take(handler, params, scope, receive, send)
                return
            if not _readable(scope["query_string"]):
                await self._refuse_query(scope, send)
                return
        await self.app(scope, receive, send)

    async def _refuse_query(self, scope: Scope, send: Send) -> None:
        """400 for a query string Falcon cannot read. Falcon decodes it as UTF-8 while it makes
        its request, before any of its handlers: the error would reach the server as a bare
        500. (Over HTTP, httptools already refuses such a request line; another ASGI server,
        or a test transport, may pass it on.)"""
        request_id = self._request_id(headers_of(scope))
        out = [(b"x-request-id", request_id.encode("latin-1"))]
        status, body = _failure(BodyError(), request_id, scope["method"], scope["path"], out)
        await _send_answer(send, scope, status, body, request_id, out)

    def _request_id(self, headers: dict[bytes, bytes]) -> str:
        sent = headers.get(b"x-request-id")
        return self._gate.request_id(None if sent is None else sent.decode("latin-1"))

    def _find(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]] | None:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler, ()
        head, _, last = path.rpartition("/")
        if not last:
            return None  # a trailing slash: Falcon's to strip
        handler = self._items.get((method, head))
        if handler is not None:
            return handler, (last,)
        before, _, middle = head.rpartition("/")
        handler = self._actions.get((method, before, last))
        if handler is None or not middle:
            return None
        return handler, (middle,)

    async def _take(
        self, handler: Handler, params: tuple[str, ...], scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = headers_of(scope)
        first = await receive()
        if first["type"] == "http.disconnect":
            return  # as Falcon does: nobody to answer
        if _IDEMPOTENCY in headers and scope["method"] == "POST":
            await self.app(scope, _replaying(first, receive), send)
            return
        await self._answer(handler, params, scope, headers, first, receive, send)

    async def _answer(
        self,
        handler: Handler,
        params: tuple[str, ...],
        scope: Scope,
        headers: dict[bytes, bytes],
        first: Message,
        receive: Receive,
        send: Send,
    ) -> None:
        gate = self._gate
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = self._request_id(headers)
        out = [(b"x-request-id", request_id.encode("latin-1"))]
        caller: Caller | None = None
        try:
            version_header = headers.get(_VERSION)
            # Read first, as the middleware does: every answer, errors included, says its version.
            version = versions.parse(None if version_header is None else version_header.decode("latin-1"))
            out.append((_VERSION, version.name.encode("latin-1")))
            gate.check_open()
            authorization = headers.get(b"authorization")
            caller = await gate.admit(
                False,  # the secret key only (see the module)
                peer_address(scope),
                None if authorization is None else authorization.decode("latin-1"),
                version,
            )
            await gate.check_path(caller, path, params)
            call = Call(caller, params, scope, headers, self._limits, first, receive)
            answer, status = await handler(call)
            body = orjson.dumps(answer)
        except Exception as error:  # noqa: BLE001 - every failure is answered, as Falcon's handlers do
            status, body = _failure(error, request_id, method, path, out)
        if caller is not None:
            gate.record(caller, method, path, status, request_id)
        await _send_answer(send, scope, status, body, request_id, out)


def _failure(
    error: Exception, request_id: str, method: str, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """A failure's status and envelope (`errors.answer_for`); its headers join `headers`."""
    failure = answer_for(error, request_id, method, path)
    headers.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in failure.headers)
    return failure.status, orjson.dumps(failure.body)


async def _send_answer(
    send: Send, scope: Scope, status: int, body: bytes, request_id: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """A JSON answer with `headers` and its length; the console's line learns its status."""
    headers.append((b"content-type", _JSON))
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    scope[ANSWERED] = (status, request_id)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _readable(query: bytes) -> bool:
    """Whether a query string is UTF-8, as Falcon reads it."""
    if query.isascii():
        return True
    try:
        query.decode()
    except UnicodeDecodeError:
        return False
    return True


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """A request's headers by (lowercase) name, as Falcon reads them."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers and name not in _SINGLE:
            headers[name] += b"," + value
        else:
            headers[name] = value
    return headers


class _FalconCall(Call):
    """A call made of a request that came through Falcon: its body read through Falcon's, once
    (the idempotency middleware may have read it already)."""

    __slots__ = ("_req",)

    def __init__(self, req: falcon.asgi.Request, params: tuple[str, ...]) -> None:
        scope = req.scope
        super().__init__(req.context.caller, params, scope, headers_of(scope), limits_of(req), {}, _nothing)
        self._req = req

    @property
    def prefix(self) -> str:
        return self._req.prefix

    async def _read(self) -> bytes:
        context = self._req.context
        raw: bytes | None = getattr(context, "raw_body", None)
        if raw is None:
            raw = context.raw_body = await raw_body(self._req)
        return raw


class FalconResource:
    """A route's handlers as a Falcon resource (`on_get`, `on_post`...), for the requests
    DirectRoutes passes on to Falcon: the same answers, through Falcon's steps."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        for method, handler in handlers.items():
            setattr(self, f"on_{method.lower()}", _responder(handler))


def _responder(handler: Handler) -> Callable[..., Awaitable[None]]:
    async def responder(req: falcon.asgi.Request, resp: falcon.asgi.Response, **params: str) -> None:
        answer, status = await handler(_FalconCall(req, tuple(params.values())))
        send(resp, answer, status)

    return responder


def _is_field(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


async def _nothing() -> Message:
    raise AssertionError("a call made of a Falcon request reads its body through Falcon")


def _replaying(first: dict[str, Any], receive: Receive) -> Receive:
    """`receive` with the message already taken given back first."""
    pending: list[dict[str, Any]] = [first]

    async def replay() -> Any:
        if pending:
            return pending.pop()
        return await receive()

    return replay
