"""A real webhook receiver in the test process, and servers of the tests' own (in process, or
real processes where the process matters).

`Receiver` is an HTTP server on 127.0.0.1 (a thread) that checks every delivery's signature
with the secret its path was given and keeps what it got. It can refuse connections (bound
but not listening: "down"), answer errors a number of times, or answer slowly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from komoju_server.webhooks.signing import verify
from tests.inprocess import InProcessServer
from tests.support import ServerProcess, create_database, drop_database

WAIT_SECONDS = 30


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    signed: bool | None  # None: no secret for this path, so no check
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["x-komoju-id"]


class Receiver:
    def __init__(self, listening: bool = True) -> None:
        self.secrets: dict[str, str | None] = {}  # path -> secret token
        self.got: list[Received] = []
        self.fail_first = 0  # answer 500 to this many requests before answering 200
        self.status = 200
        self.delay = 0.0  # seconds to wait before answering
        self._lock = threading.Lock()
        self._answered = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away mid-request (a host killed between the head and the
                    # body): no receiver takes a truncated request for a delivery.
                    self.close_connection = True
                    return
                status = receiver._record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server gave up waiting (its timeout, under test): nobody reads the answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        # socketserver listens with a backlog of 5: two hosts' workers sending at once overflow
        # it, and the connections it drops are failed attempts, retried a minute later.
        self._server.request_queue_size = 128
        self._server.daemon_threads = True
        self._server.server_bind()  # the port is ours from now on; refused until `up`
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        if listening:
            self.up()

    def fail_next(self, count: int) -> None:
        """Answer 500 to the next `count` requests, then as before."""
        with self._lock:
            self.fail_first = self._answered + count

    def url(self, path: str = "/hook", secret: str | None = None) -> str:
        self.secrets[path] = secret
        return f"http://127.0.0.1:{self.port}{path}"

    def up(self) -> None:
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path)
        signature = headers.get("x-komoju-signature")
        signed = None if secret is None else signature is not None and verify(secret, body, signature)
        with self._lock:
            self._answered += 1
            status = 500 if self._answered <= self.fail_first else self.status
            self.got.append(Received(path, headers, body, signed, status))
        return status

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.got if path is None or r.path == path]

    def wait_for(self, check: Callable[[list[Received]], bool], seconds: float = WAIT_SECONDS) -> list[Received]:
        """Polls until `check(everything received)` holds; fails with what arrived if it never does."""
        deadline = time.monotonic() + seconds
        while True:
            got = self.received()
            if check(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the receiver never saw what was expected; it got {len(got)}: "
                    + ", ".join(f"{r.path} {r.headers.get('x-komoju-event')}" for r in got)
                )
            time.sleep(0.02)

    def wait_events(self, path: str, types: Sequence[str], seconds: float = WAIT_SECONDS) -> list[Received]:
        """Waits until `path` got a successful delivery of each of `types` (in any order)."""

        def done(got: list[Received]) -> bool:
            seen = {r.headers.get("x-komoju-event") for r in got if r.path == path and 200 <= r.status < 300}
            return set(types) <= seen

        self.wait_for(done, seconds)
        return self.received(path)


@contextlib.contextmanager
def receiver(listening: bool = True) -> Iterator[Receiver]:
    box = Receiver(listening)
    try:
        yield box
    finally:
        box.close()


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend's kind, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'komoju-{secrets.token_hex(3)}.db'}"
        return
    name = f"komoju_hooks_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(name)
    try:
        yield url
    finally:
        drop_database(name)


def new_keys() -> tuple[str, str]:
    return "sk_test_" + secrets.token_hex(16), "pk_test_" + secrets.token_hex(16)


@contextlib.contextmanager
def own_server(
    database_url: str, extra: Sequence[str] = (), keys: tuple[str, str] | None = None
) -> Iterator[ServerProcess]:
    secret_key, publishable_key = keys or new_keys()
    proc = ServerProcess.start(database_url, secret_key=secret_key, publishable_key=publishable_key, extra=list(extra))
    try:
        yield proc
    finally:
        proc.stop()


@contextlib.contextmanager
def own_app(database_url: str, **settings: Any) -> Iterator[InProcessServer]:
    """The API served in this process with these settings (`webhook_timeout=0.5`, ...)."""
    secret_key, publishable_key = new_keys()
    app = InProcessServer.start(database_url, secret_key=secret_key, publishable_key=publishable_key, **settings)
    try:
        yield app
    finally:
        app.stop()
