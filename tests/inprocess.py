"""The API served in the test process: the ASGI app on an event loop of its own, no sockets.

`InProcessServer.start(database_url)` builds `create_app(Runtime(...))` exactly as `serve`
does, runs its ASGI lifespan (migrations, store, scheduler, webhook worker) on an event loop
in a background thread, and makes sure the test merchant exists, as `serve --secret-key
--publishable-key` would. Its `client()` is a plain synchronous `httpx.Client` whose
transport hands each request to `httpx.ASGITransport` on that loop, so tests read exactly
like tests of a real server, threads and races included (concurrent requests from several
threads run concurrently on the loop, as in one server process).

What the server logs (the `komoju_server` and `asyncio` loggers, tracebacks included) is kept
in `output`, as a real process's console would be.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import httpx

from komoju_server.api.app import create_app
from komoju_server.config import Settings
from komoju_server.runtime import Runtime
from komoju_server.services import merchants
from tests.support import TEST_VAULT_KEY

T = TypeVar("T")

# Requests never leave the process; the host and port only shape the URLs the API hands out
# (from the Host header). Should anything ever bypass the transport, port 9 (discard) on the
# loopback refuses it at once.
URL = "http://127.0.0.1:9"
LOGGERS = ("komoju_server", "asyncio")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the CLI's console format


class _EventLoopThread:
    """An event loop running forever in a daemon thread; coroutines are submitted to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


class LoopTransport(httpx.BaseTransport):
    """A synchronous httpx transport that serves each request with the ASGI app on its loop."""

    def __init__(self, app: Any, loop: _EventLoopThread) -> None:
        self._asgi = httpx.ASGITransport(app, client=("127.0.0.1", 40000))
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A sync body stream cannot be read on the loop: read it here, and pass the headers on
        # as they are (a chunked body stays without a Content-Length).
        body = request.read()
        forwarded = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            stream=httpx.ByteStream(body),
            extensions=request.extensions,
        )

        async def serve() -> tuple[int, httpx.Headers, bytes, dict[str, Any]]:
            response = await self._asgi.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers, content, dict(response.extensions)

        timeout = (request.extensions.get("timeout") or {}).get("read") or 60
        status, headers, content, extensions = self._loop.run(serve(), timeout)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), extensions=extensions)


class _Output(logging.Handler):
    """Keeps the server's log lines, formatted as the CLI prints them."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(_FORMAT))
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(self.format(record) + "\n")


class InProcessServer:
    """One Runtime and its app on one database, served in this process (see the module)."""

    def __init__(self, settings: Settings) -> None:
        self.url = URL
        self.settings = settings
        self.database_url = settings.database_url
        self.secret_key = settings.secret_key or ""
        self.publishable_key = settings.publishable_key or ""
        self.output: list[str] = []
        self._handler = _Output(self.output)
        self._loop = _EventLoopThread(f"komoju-{'sqlite' if settings.is_sqlite else 'postgres'}")
        self.runtime = Runtime.build(settings)
        self.app = create_app(self.runtime)
        self.transport = LoopTransport(self.app, self._loop)
        self._lifespan: asyncio.Task[None] | None = None
        self._lifespan_inbox: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_outbox: asyncio.Queue[dict[str, Any]] | None = None

    @classmethod
    def start(
        cls,
        database_url: str,
        secret_key: str = "sk_test_suite",
        publishable_key: str = "pk_test_suite",
        **settings: Any,
    ) -> InProcessServer:
        vault_key = None if database_url.startswith("sqlite") else TEST_VAULT_KEY
        server = cls(
            Settings(
                database_url=database_url,
                secret_key=secret_key,
                publishable_key=publishable_key,
                vault_key=vault_key,
                **settings,
            )
        )
        for name in LOGGERS:
            logging.getLogger(name).addHandler(server._handler)
        try:
            server._loop.run(server._startup())
            # serve --secret-key/--publishable-key: make sure the test merchant answers to them
            server.run(merchants.ensure_merchant(server.runtime.store, secret_key, publishable_key))
        except BaseException:
            server.stop()
            raise
        return server

    async def _startup(self) -> None:
        """The ASGI lifespan, as uvicorn runs it: startup now, shutdown in `stop`."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan_inbox, self._lifespan_outbox = inbox, outbox
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

        async def send(message: dict[str, Any]) -> None:
            await outbox.put(message)

        self._lifespan = asyncio.ensure_future(self.app(scope, inbox.get, send))
        await inbox.put({"type": "lifespan.startup"})
        answer = await outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"server did not start: {answer}")

    async def _shutdown(self) -> None:
        if self._lifespan is None or self._lifespan_inbox is None or self._lifespan_outbox is None:
            return
        if not self._lifespan.done():
            await self._lifespan_inbox.put({"type": "lifespan.shutdown"})
            answer = await self._lifespan_outbox.get()
            if answer["type"] != "lifespan.shutdown.complete":
                raise RuntimeError(f"server did not stop cleanly: {answer}")
        await self._lifespan

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Runs a coroutine on the server's loop (services, the store) and returns its result."""
        return self._loop.run(coro, timeout)

    def new_merchant(self, name: str = "merchant") -> dict[str, str]:
        """A fresh merchant made through the service layer: its id and its four keys."""
        return self.run(merchants.create_merchant(self.runtime.store, name, keyring=self.runtime.keyring)).as_dict()

    def client(self, key: str | None, **kwargs: Any) -> httpx.Client:
        """A client of /api/v1 (or of `base_url`) with `key` as its Basic user name."""
        kwargs.setdefault("auth", (key, "") if key else None)
        kwargs.setdefault("base_url", self.url + "/api/v1")
        return httpx.Client(transport=self.transport, timeout=30, **kwargs)

    def stop(self) -> None:
        try:
            self._loop.run(self._shutdown())
        finally:
            self._loop.close()
            for name in LOGGERS:
                logging.getLogger(name).removeHandler(self._handler)
