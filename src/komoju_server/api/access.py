"""The request line of the console: an ASGI layer around the whole application.

It notes the time a request came and, once the application is done with it, hands the
console the method, the path (never the query string: list filters may hold email
addresses), the status, the duration and the request id. The status and the request id are
what the application noted in the scope under `ANSWERED` as it answered (api/middleware.py);
nothing of the request's headers or bodies is read, and the messages sent pass untouched (an
ASGI layer that watched them cost a request about 20k instructions). A request that fails
before answering is printed with status 500, as uvicorn answers it.
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

# The scope key under which the application notes (status, request id) once it has answered.
ANSWERED = "komoju.answered"


class AccessLog:
    def __init__(self, app: App, console: Console) -> None:
        self._app = app
        self._console = console

    @property
    def app(self) -> App:
        """The application it prints the lines of."""
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self._app(scope, receive, send)
        finally:
            status, request_id = scope.get(ANSWERED) or (500, "")
            duration_ms = (time.perf_counter() - started) * 1000
            self._console.request(scope["method"], _path(scope), status, duration_ms, request_id)


def _path(scope: Scope) -> str:
    """The path as it came on the wire (percent-encoded), without a query string."""
    raw = scope.get("raw_path")
    if raw:
        return raw.partition(b"?")[0].decode("latin-1")
    return str(scope.get("path", ""))
