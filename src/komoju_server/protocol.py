"""The HTTP connection: uvicorn's httptools protocol, with the limits uvicorn does not enforce.

uvicorn (0.30+) with httptools bounds none of these: the size of the request line or of the
headers (httptools buffers a header's value whole before handing it over, so a 100 MB header
is 100 MB of memory), the number of headers, the time a client may take to send its headers
or its body, or the number of open connections. This subclass adds them at the connection,
before any request reaches the application, at the cost of a few counters per request: no
extra ASGI layer and, for a request whose head and body come in one read, no timer at all.

- request line, header bytes, header count (431), a declared Content-Length over the body
  limit (413): answered in KOMOJU's error envelope with `Connection: close`, and the
  connection is closed; nothing more of it is read.
- headers not complete within `header_timeout` of connecting (or of the request's first
  byte on a kept-alive connection), a body not complete within `body_timeout` of its headers:
  the connection is closed (no answer can be given in the middle of a request).
- idle keep-alive: uvicorn's own `timeout_keep_alive` (`keep_alive_timeout`).
- a connection beyond `max_connections`: answered 503 `service_unavailable` and closed at once.

A chunked body over the limit is refused by the application as it reads it (api/requests.py);
reading is paused while the application does not read (uvicorn's flow control), so memory
stays bounded meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from komoju_server.domain.errors import ApiError
from komoju_server.limits import (
    Limits,
    body_too_large,
    headers_too_large,
    line_too_long,
    too_many_connections,
    too_many_headers,
)

log = logging.getLogger("komoju_server")

# The uvicorn Config attribute carrying the limits to every connection (and, pickled with the
# Config, to every worker process).
CONFIG_ATTRIBUTE = "komoju_limits"

_CONTENT_LENGTH = b"content-length"
_BODILESS = frozenset((b"GET", b"HEAD", b"OPTIONS", b"DELETE"))  # a body these send is counted as it comes (on_body)
LINGER_SECONDS = 1.0

# The ASGI scope extension through which the application learns whether the body it read is
# all the client sent: uvicorn ends the body stream the same way when the client has sent it
# all and when the connection was lost (or timed out) halfway, and Falcon hands the
# application what came. Its value is a weak reference to uvicorn's request cycle, whose
# `more_body` is false once the body arrived whole: weak, because the cycle holds the scope, and
# a cycle of references per request is left to the garbage collector (about 1 µs a request).
BODY_EXTENSION = "komoju.body"


class Refused(Exception):
    """A request refused before it reaches the application, with its answer."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: Limits = getattr(config, CONFIG_ATTRIBUTE, None) or Limits()
        self._reading_head = True  # until this request's headers are complete
        self._reading_body = False  # from then until its body is complete
        self._head_bytes = 0  # bytes fed to the parser in earlier reads of this head (a bound on its buffer)
        self._read_bytes = 0  # bytes of the read being parsed
        self._body_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            # Refused before anything is read: no file descriptor held, no timer armed.
            _warn_over_cap(self.loop, len(self.connections))
            self.transport = transport
            self._refused = True
            self._answer(too_many_connections(), retry_after=True, linger=False)
            return
        super().connection_made(transport)
        self._arm(self.limits.header_timeout)  # a client that connects and says nothing

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused and self.flow is None:  # refused at connect: uvicorn's state never knew it
            self.connections.discard(self)
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        self._read_bytes = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, Refused):
                self._refuse(exc.__context__.error)
                return
            self._refuse(_not_http(), quietly=True)
            return
        except httptools.HttpParserError:
            self._refuse(_not_http(), quietly=True)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._reading_head:
            # httptools keeps an unfinished header's value in memory: bound it by the bytes fed
            # since this head began (one read more at most), whatever the callbacks have seen.
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head:
                try:  # the headers parsed so far say which limit it is; else it is their size
                    self._check_headers(self._head_bytes)
                except Refused as refused:
                    self._refuse(refused.error)
                else:
                    self._refuse(headers_too_large(self.limits.max_header_bytes))
            elif self._deadline is None:
                self._arm(self.limits.header_timeout)
        elif self._reading_body and self._deadline is None:
            self._arm(self.limits.body_timeout)

    # Parser callbacks. They run for every request: the checks are folded into what uvicorn
    # does anyway (it accumulates the URL and lists the headers), counted once per request.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._head_bytes = 0
        self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.limits.max_request_line:
            raise Refused(line_too_long(self.limits.max_request_line))

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._disarm()
        limits = self.limits
        if len(self.headers) > limits.max_headers or self._head_bytes + self._read_bytes > limits.max_header_bytes:
            self._check_headers(self._head_bytes + self._read_bytes)
        if self.parser.get_method() not in _BODILESS:
            for name, value in self.headers:  # uvicorn lowercased the names
                if name == _CONTENT_LENGTH:
                    if int(value) > limits.max_body:  # httptools checked it is a number
                        # Refused before the body is read, and before any 100 Continue.
                        raise Refused(body_too_large(limits.max_body))
                    break
        super().on_headers_complete()
        self._reading_body = not self.parser.should_upgrade()
        # Whether the body arrives whole, for api/requests.py: uvicorn's cycle stops expecting
        # more once the message is complete, never when the connection is lost or timed out.
        extensions = self.scope.setdefault("extensions", {})
        extensions[BODY_EXTENSION] = weakref.ref(self.cycle)  # type: ignore[index]

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:  # a chunked body (a declared one is refused above)
            raise Refused(body_too_large(self.limits.max_body))
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()

    def _check_headers(self, at_most: int) -> None:
        """Refuse too many headers, or too many bytes of them; `at_most` bounds the bytes of the
        head read so far, sparing the count for a head that came in a small read."""
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            raise Refused(too_many_headers(limits.max_headers))
        if (
            at_most > limits.max_header_bytes
            and sum(len(n) + len(v) for n, v in self.headers) > limits.max_header_bytes
        ):
            raise Refused(headers_too_large(limits.max_header_bytes))

    # Answers and timers

    def _refuse(self, error: ApiError, quietly: bool = False) -> None:
        if not quietly:
            log.warning("refused a request from %s: %s", _peer(self.client), error.message)
        self._refused = True
        self._disarm()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if self._reading_body and not cycle.response_started:
                # This request's own body, while the application reads it: it hears that the
                # client is gone (and what it answers goes nowhere); the answer is ours.
                cycle.disconnected = True
                cycle.message_event.set()
            else:
                # An answer is on its way (a pipelined request behind it, or a body the
                # application did not wait for): it goes out whole, then the connection
                # closes; nothing more is read meanwhile.
                cycle.keep_alive = False
                self.flow.pause_reading()
                return
        self._answer(error)

    def _answer(self, error: ApiError, retry_after: bool = False, linger: bool = True) -> None:
        body = orjson.dumps(error.body())
        head = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"retry-after: 1\r\n" if retry_after else b"",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        # Closing now, with the client's bytes still arriving, would reset the connection and
        # could take the answer with it: say we are done writing, then discard what comes
        # (data_received) until the client closes (eof_received) or LINGER_SECONDS pass.
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self._arm(LINGER_SECONDS)
        else:
            self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self._refused = True
            self.transport.close()


_last_cap_warning = [float("-inf")]
CAP_WARNING_EVERY = 10.0  # seconds: a flood of connections is one line, not one a connection


def _warn_over_cap(loop: asyncio.AbstractEventLoop, open_connections: int) -> None:
    now = loop.time()
    if now - _last_cap_warning[0] >= CAP_WARNING_EVERY:
        _last_cap_warning[0] = now
        log.warning("refusing new connections: %d open, the most --max-connections allows", open_connections)


def _not_http() -> ApiError:
    return ApiError("bad_request", message="The request is not valid HTTP/1.1.")


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "?"
