"""The pytest plugin installed with komoju-server: a real server for a merchant's own tests.

Installed with the package (the `pytest11` entry point `komoju`), it gives every test suite of
the environment three fixtures:

- `komoju` (session scope): a `komoju-server serve` process on a free port of 127.0.0.1 with a
  temporary SQLite database and a test merchant of random keys, and a webhook receiver of its
  own. It hands the test `komoju.base_url` (ending in `/api/v1`), `komoju.secret_key`,
  `komoju.publishable_key`, a ready `komoju.client()`, and helpers: `advance_clock(seconds)`,
  `complete(payment_id)` and `fail(payment_id)` (the customer pays or gives up), `reset()`, and
  `komoju.webhooks` (the events the receiver got, signature checked, and `wait_for`).
- `komoju_merchant` (function scope): a fresh merchant on the same server (its own keys,
  lists, clock and webhook receiver path), for a test that must start from nothing.
- `komoju_server` (session scope): the process itself (its `url`, `database_url` and console
  `output`), for what is not a merchant's.

A failing test that used them gets the server's console lines and the webhooks received
during the test in its report. Nothing here needs more than the package's own dependencies
(httpx and the standard library), and nothing is imported from the server until a fixture is
used, so the plugin costs nothing to suites that do not use it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

API = "/api/v1"
SIGNATURE_HEADER = "X-Komoju-Signature"
START_SECONDS = 60.0


class KomojuError(AssertionError):
    """An API call of a helper did not answer 2xx: the call and KOMOJU's error envelope."""

    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        try:
            detail: Any = response.json()
        except ValueError:
            detail = response.text[:500]
        super().__init__(f"{request.method} {request.url.path} answered {response.status_code}: {detail}")
        self.response = response
        self.status_code = response.status_code
        self.body = detail


# -- the webhook receiver ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedWebhook:
    """One delivery the receiver took: the event as sent, and the headers that came with it."""

    event: dict[str, Any]
    delivery_id: str
    event_type: str
    headers: dict[str, str]
    number: int = 0  # the receiver's count of deliveries kept, from 1

    @property
    def type(self) -> str:
        return str(self.event.get("type"))

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.event.get("data") or {})


class Webhooks:
    """The events one merchant's webhook endpoint received, oldest first.

    Only deliveries whose `X-Komoju-Signature` is the HMAC-SHA256 of the body with `secret`
    are kept (and answered 200); any other is answered 401 and kept in `rejected`, so a test
    can see that something unsigned came."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self._received: list[ReceivedWebhook] = []
        self._kept = 0  # deliveries kept so far, through clear()
        self.rejected: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    # What the receiver's thread calls.
    def _take(self, body: bytes, headers: dict[str, str]) -> bool:
        expected = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        signature = headers.get(SIGNATURE_HEADER.lower(), "").strip().lower()
        with self._changed:
            if not hmac.compare_digest(expected, signature):
                self.rejected.append({"headers": headers, "body": body.decode("utf-8", "replace")})
                return False
            try:
                event = json.loads(body)
            except ValueError:
                self.rejected.append({"headers": headers, "body": body.decode("utf-8", "replace")})
                return False
            self._kept += 1
            self._received.append(
                ReceivedWebhook(
                    event=event,
                    delivery_id=headers.get("x-komoju-id", ""),
                    event_type=headers.get("x-komoju-event", ""),
                    headers=headers,
                    number=self._kept,
                )
            )
            self._changed.notify_all()
        return True

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._changed:
            return list(self._received)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events received, oldest first (each `{"id", "type", "resource", "data", ...}`)."""
        return [w.event for w in self.received]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [w.event for w in self.received if w.type == event_type]

    def clear(self) -> None:
        with self._changed:
            self._received.clear()
            self.rejected.clear()

    def wait_for(
        self,
        event_type: str,
        *,
        object_id: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Waits until `count` events of `event_type` came (about `object_id`, its `data.id`,
        when given, and matching `where`) and returns the last of them; fails the test after
        `timeout` seconds, naming what did come."""

        def matching() -> list[dict[str, Any]]:
            found = []
            for webhook in self._received:
                if webhook.type != event_type:
                    continue
                if object_id is not None and webhook.data.get("id") != object_id:
                    continue
                if where is not None and not where(webhook.event):
                    continue
                found.append(webhook.event)
            return found

        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = matching()
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            got = [f"{w.type} {w.data.get('id', '')}".strip() for w in self._received]
            rejected = len(self.rejected)
        about = f" about {object_id}" if object_id else ""
        raise AssertionError(
            f"no {event_type} webhook{about} within {timeout:g}s"
            + (f" ({count} wanted, {len(found)} came)" if count > 1 else "")
            + f"; received: {got or 'nothing'}"
            + (f"; {rejected} rejected for a bad signature" if rejected else "")
        )


class _Receiver:
    """An HTTP server on 127.0.0.1 taking webhook deliveries, one path per merchant."""

    def __init__(self) -> None:
        self._paths: dict[str, Webhooks] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                hooks = receiver._paths.get(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = 404 if hooks is None else (200 if hooks._take(body, headers) else 401)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="komoju-webhooks", daemon=True)
        self._thread.start()

    def add(self) -> Webhooks:
        path = "/" + secrets.token_hex(8)
        hooks = Webhooks(self.base + path, secrets.token_hex(16))
        self._paths[path] = hooks
        return hooks

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the server process --------------------------------------------------------------------------


@dataclass
class KomojuServer:
    """A running `komoju-server serve` process (see `start`)."""

    process: subprocess.Popen[str]
    url: str  # http://127.0.0.1:PORT
    database_url: str
    output: list[str] = field(default_factory=list)
    _receiver: _Receiver | None = None
    _default: Komoju | None = None

    @classmethod
    def start(cls, directory: Path, *extra: str) -> KomojuServer:
        """`python -m komoju_server serve --port 0` on a new SQLite database in `directory`,
        with a test merchant of random keys; returns once `/health` answers."""
        database_url = f"sqlite:///{directory / 'komoju.db'}"
        secret_key = "sk_test_" + secrets.token_hex(16)
        publishable_key = "pk_test_" + secrets.token_hex(16)
        command = [
            sys.executable,
            "-m",
            "komoju_server",
            "serve",
            "--port",
            "0",
            "--database-url",
            database_url,
            "--secret-key",
            secret_key,
            "--publishable-key",
            publishable_key,
            *extra,
        ]
        # The server's own settings come from these flags, not from the settings of whatever
        # komoju-server the developer runs by hand.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOMOJU_")}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("listening on "):
            process.kill()
            rest = process.stdout.read()
            raise RuntimeError(f"komoju-server did not start: {first}\n{rest}")
        server = cls(process, first.removeprefix("listening on "), database_url, [first + "\n"])
        threading.Thread(target=server._drain, name="komoju-console", daemon=True).start()
        server._wait_healthy()
        server._default = Komoju(server, "", secret_key, publishable_key)
        return server

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("komoju-server exited:\n" + "".join(self.output))
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("komoju-server never became healthy:\n" + "".join(self.output))

    @property
    def receiver(self) -> _Receiver:
        if self._receiver is None:
            self._receiver = _Receiver()
        return self._receiver

    @property
    def merchant(self) -> Komoju:
        """The merchant the server was started with."""
        assert self._default is not None
        return self._default

    def new_merchant(self) -> Komoju:
        """A fresh merchant, made with `komoju-server merchants create` on the server's database."""
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "komoju_server",
                "merchants",
                "create",
                "--json",
                "--database-url",
                self.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("KOMOJU_")},
        )
        if made.returncode != 0:
            raise RuntimeError(f"komoju-server merchants create failed: {made.stderr}")
        keys = json.loads(made.stdout)
        return Komoju(self, keys["merchant_id"], keys["test_secret_key"], keys["test_publishable_key"])

    def stop(self, timeout: float = 30) -> int:
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Komoju:
    """One test merchant on a running server: its keys, a client, and the sandbox's helpers."""

    def __init__(self, server: KomojuServer, merchant_id: str, secret_key: str, publishable_key: str) -> None:
        self.server = server
        self.merchant_id = merchant_id
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.url = server.url
        self.base_url = server.url + API
        self._webhooks: Webhooks | None = None
        self._client: httpx.Client | None = None

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        """A new httpx client of `base_url` with the secret key (or `key`) as HTTP Basic user."""
        kwargs.setdefault("base_url", self.base_url)
        kwargs.setdefault("timeout", 30)
        return httpx.Client(auth=(key or self.secret_key, ""), **kwargs)

    @property
    def api(self) -> httpx.Client:
        """A shared client of `base_url` with the secret key."""
        if self._client is None:
            self._client = self.client()
        return self._client

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Calls the API and answers the JSON body; anything but a 2xx raises `KomojuError`."""
        response = self.api.request(method, path, **kwargs)
        if not response.is_success:
            raise KomojuError(response)
        return response.json()

    # -- the sandbox (this server's extension, test mode) ------------------------------------

    def complete(self, payment_id: str) -> dict[str, Any]:
        """The customer pays a pending or authorized payment (a konbini slip, a bank transfer, a
        redirect): it is captured, and its webhooks are sent."""
        return self.request("POST", f"/sandbox/payments/{payment_id}/complete")

    def fail(self, payment_id: str) -> dict[str, Any]:
        """The customer gives up, or is refused: the payment is failed."""
        return self.request("POST", f"/sandbox/payments/{payment_id}/fail")

    def advance_clock(self, seconds: float = 0, *, days: float = 0, hours: float = 0) -> dict[str, Any]:
        """Moves this merchant's clock forward; what falls due meanwhile (expiries, subscription
        charges) happens before this returns. Answers `{"now", "offset"}`."""
        total = int(seconds + days * 86_400 + hours * 3_600)
        return self.request("POST", "/sandbox/clock/advance", json={"seconds": total})

    def now(self) -> str:
        """The merchant's clock (ISO 8601)."""
        return str(self.request("GET", "/sandbox/clock")["now"])

    def reset(self) -> dict[str, Any]:
        """Erases the merchant's test data and puts its clock back; webhook endpoints stay.
        Also forgets the webhooks received (deliveries of events made before the reset that are
        still on their way may arrive after it)."""
        erased = self.request("POST", "/sandbox/reset")
        if self._webhooks is not None:
            self._webhooks.clear()
        return erased

    # -- webhooks ------------------------------------------------------------------------------

    def listen(self) -> Webhooks:
        """Registers the merchant's webhook receiver, once; answers it."""
        return self.webhooks

    @property
    def webhooks(self) -> Webhooks:
        """The merchant's webhook receiver on 127.0.0.1, registered (`POST /webhooks`, every event
        type) when the fixture hands the merchant out; the `ping` of its registration is the
        first event in it."""
        if self._webhooks is None:
            hooks = self.server.receiver.add()
            self.request("POST", "/webhooks", json={"url": hooks.url, "secret_token": hooks.secret})
            self._webhooks = hooks
        return self._webhooks

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def komoju_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KomojuServer]:
    """The komoju-server process of this test session (see the module)."""
    server = KomojuServer.start(tmp_path_factory.mktemp("komoju"))
    yield server
    server.merchant.close()
    server.stop()


@pytest.fixture(scope="session")
def komoju(komoju_server: KomojuServer) -> Komoju:
    """A test merchant on a real komoju-server: `base_url`, `secret_key`, `publishable_key`,
    `client()`, `complete`, `fail`, `advance_clock`, `reset`, `webhooks`."""
    merchant = komoju_server.merchant
    merchant.listen()  # before the first test, so that no event is missed
    return merchant


@pytest.fixture
def komoju_merchant(komoju_server: KomojuServer) -> Iterator[Komoju]:
    """A fresh merchant of the test's own on the session's server (as `komoju` is)."""
    merchant = komoju_server.new_merchant()
    merchant.listen()  # before the test makes anything
    yield merchant
    merchant.close()


_STARTED = pytest.StashKey[tuple[float, dict[int, int]]]()
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    if _server_of(item) is not None:
        webhooks = {id(m): m._webhooks._kept for m in _merchants_of(item) if m._webhooks is not None}
        item.stash[_STARTED] = (time.time(), webhooks)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    server = _server_of(item)
    if server is None or call.when != "call" or not report.failed:
        return
    started, webhooks = item.stash.get(_STARTED, (0.0, {}))
    lines = _lines_since(server, started)
    report.sections.append(("komoju-server console", "".join(lines) or "(nothing printed during the test)\n"))
    for merchant in _merchants_of(item):
        if merchant._webhooks is None:
            continue
        came = [w for w in merchant._webhooks.received if w.number > webhooks.get(id(merchant), 0)]
        got = [f"{w.type} {w.data.get('id', '')}".strip() for w in came]
        name = merchant.merchant_id or "komoju"
        report.sections.append((f"komoju webhooks received during the test ({name})", "\n".join(got) or "(none)"))


def _lines_since(server: KomojuServer, started: float) -> list[str]:
    """The console lines stamped at or after `started` (and the unstamped lines that follow
    them), once the console has printed what it had: it writes every 20 ms."""
    deadline = time.monotonic() + 1.0
    seen = -1
    while len(server.output) != seen and time.monotonic() < deadline:
        seen = len(server.output)
        time.sleep(0.1)
    kept: list[str] = []
    keep = False
    for line in list(server.output):
        stamp = _STAMP.match(line)
        if stamp:
            at = time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")) + int(stamp.group(2)) / 1000
            keep = at >= started
        if keep:
            kept.append(line)
    return kept


def _merchants_of(item: pytest.Item) -> list[Komoju]:
    return [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, Komoju)]


def _server_of(item: pytest.Item) -> KomojuServer | None:
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, KomojuServer):
            return value
        if isinstance(value, Komoju):
            return value.server
    return None
