"""The request line of the console: an ASGI layer around the whole application.

It notes the time a request came, the status and the `X-Request-Id` the application answered,
and, once the answer is sent, hands the console the method, the path (never the query string:
list filters may hold email addresses), the status, the duration and the request id. Nothing
of the request's headers or bodies is read. A request that fails before answering is printed
with status 500, as uvicorn answers it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from komoju_server.console import Console

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = b"x-request-id"


class AccessLog:
    def __init__(self, app: App, console: Console) -> None:
        self._app = app
        self._console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        answered: list[Any] = [500, ""]  # status, request id

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered[0] = message["status"]
                for name, value in message.get("headers") or ():
                    if name == _REQUEST_ID:
                        answered[1] = value.decode("latin-1")
                        break
            await send(message)

        try:
            await self._app(scope, receive, noting)
        finally:
            self._console.request(
                scope["method"],
                _path(scope),
                answered[0],
                (time.perf_counter() - started) * 1000,
                answered[1],
            )


def _path(scope: Scope) -> str:
    """The path as it came on the wire (percent-encoded), without a query string."""
    raw = scope.get("raw_path")
    if raw:
        return raw.partition(b"?")[0].decode("latin-1")
    return str(scope.get("path", ""))
