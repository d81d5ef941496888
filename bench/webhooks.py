"""Webhook scenarios: how fast deliveries go out, and that a receiver that is down does not
slow the API.

Latency at a steady load (`paced`): wrk's 32 connections each wait 40 ms between requests, an
offered load of about 650 payments a second, a quarter of what the server can take, as a
busy shop would send. At that load the question is whether requests wait longer, and the
rows answer it side by side, each on a fresh server:

- `POST /api/v1/payments, paced, no webhook`: the reference.
- `..., paced, webhook receiver refusing connections`: every event also goes
  (`--webhook-url`) to a port that refuses connections: one attempt a second reaches it, the
  others fail at once without a connection (webhooks/breaker.py); each is retried a minute later.
- `..., paced, webhook receiver not answering`: to a port that accepts no connection and
  never answers: every attempt waits out the 10 s timeout, all delivery slots stay full.
- `..., paced, webhook receiver up`: to bench/receiver.py answering at once (each payment
  then also costs a delivery on the server's core).

At full speed (wrk's 32 connections without pause) the rows show the capacity a failing or a
working receiver costs, next to the plain `POST /api/v1/payments` row: a delivery attempt is
work on the same core, so the server takes fewer payments a second, not slower ones.

`webhook deliveries` (events/s): a webhook points at bench/receiver.py (pinned to wrk's core)
with its gate closed; wrk creates card payments for two seconds, each writing one delivery;
then the gate opens and the server drains the backlog with nothing else to do. The rate is
deliveries answered per second, from the gate opening to the last answer.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import wrk
from bench.processes import Server, basic_auth, request
from bench.results import Result
from bench.scenarios import FORM, PAYMENT_FORM, Context, Endpoint, slug

HERE = Path(__file__).resolve().parent
SECRET_TOKEN = "bench-webhook-secret"
PACE_MS = 40  # between two requests of one wrk connection
BACKLOG_SECONDS = 2.0  # of wrk creating payments: a backlog of some thousands of deliveries
DRAIN_LIMIT_SECONDS = 300.0
HOLD_TIMEOUT = "120"  # seconds a held delivery may wait: longer than the backlog takes to build
PACED = f"function delay()\n  return {PACE_MS}\nend\n"


def _api(ctx: Context, method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    headers = {"Authorization": basic_auth(ctx.secret_key)}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body)
    status, answer = request(ctx.url(path), method, data, headers)
    if status != 200:
        raise RuntimeError(f"{method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer)


def _receiver_call(receiver: Server, path: str) -> dict[str, object]:
    method, body = ("GET", None) if path == "/stats" else ("POST", "")
    status, answer = request(receiver.url + path, method, body)
    if status != 200:
        raise RuntimeError(f"receiver {path}: {status}")
    return json.loads(answer)


def _start_receiver(ctx: Context) -> Server:
    return Server.start("receiver", [sys.executable, str(HERE / "receiver.py")], ctx.settings.client_cpu)


def _only_webhook(ctx: Context, url: str) -> dict[str, object]:
    """Makes `url` the merchant's one webhook (an earlier scenario on this server may have left one)."""
    for hook in _api(ctx, "GET", "/api/v1/webhooks?per_page=100")["data"]:  # type: ignore[union-attr]
        _api(ctx, "DELETE", f"/api/v1/webhooks/{hook['id']}")  # type: ignore[index]
    return _api(ctx, "POST", "/api/v1/webhooks", {"url": url, "secret_token": SECRET_TOKEN})


@dataclass
class Unreachable:
    """A receiver that is down: a port refusing connections (bound, not listening), or one that
    accepts none and never answers (listening, never accepting). Opened on first use and held
    for the bench's life, so that its port can go in a server's flags."""

    answering: bool
    _sock: socket.socket | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock.bind(("127.0.0.1", 0))
            if self.answering:
                self._sock.listen(0)
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@dataclass
class Payments:
    """POST /api/v1/payments measured like the plain row, paced or not, while every event goes to
    `down` (a receiver that is down), to a live receiver (`live`), or nowhere."""

    label: str
    paced: bool
    down: Unreachable | None = None
    live: bool = False

    @property
    def name(self) -> str:
        return f"POST /api/v1/payments, {'paced, ' if self.paced else ''}{self.label}"

    @property
    def baseline(self) -> str | None:
        """A paced load is not a saturating one: its req/s says nothing next to a baseline's."""
        return None if self.paced else "write"

    @property
    def server_args(self) -> tuple[str, ...]:
        if self.down is not None:
            return ("--webhook-url", self.down.url, "--webhook-secret", SECRET_TOKEN)
        # The reference and the live receiver share one server: the reference is measured
        # first, before the live scenarios make their webhook.
        return ("--webhook-timeout", "10")

    def close(self) -> None:
        if self.down is not None:
            self.down.close()

    def measure(self, ctx: Context) -> Result:
        endpoint = Endpoint(self.name, "POST", "/api/v1/payments", body=PAYMENT_FORM, lua=PACED if self.paced else "")
        if not self.live:
            return endpoint.measure(ctx)
        receiver = _start_receiver(ctx)
        try:
            _only_webhook(ctx, receiver.url + "/hook")
            result = endpoint.measure(ctx)
            answered = int(_receiver_call(receiver, "/stats")["answered"])  # type: ignore[call-overload]
            note = f"{answered:,} deliveries answered meanwhile"
            return dataclasses.replace(result, note=f"{result.note}, {note}" if result.note else note)
        finally:
            receiver.stop()


@dataclass
class DeliveryThroughput:
    """Deliveries per second, draining a backlog to a receiver that answers at once."""

    name: str = "webhook deliveries (a backlog drained to a local receiver)"
    server_args: tuple[str, ...] = ("--webhook-timeout", HOLD_TIMEOUT)

    def measure(self, ctx: Context) -> Result:
        receiver = _start_receiver(ctx)
        try:
            _receiver_call(receiver, "/close")
            hook = _only_webhook(ctx, receiver.url + "/hook")
            headers = {"Authorization": basic_auth(ctx.secret_key), "Content-Type": FORM}
            script = ctx.settings.workdir / (slug(self.name) + ".lua")
            script.write_text(wrk.render_script("POST", headers, PAYMENT_FORM))
            s = ctx.settings
            seconds = min(BACKLOG_SECONDS, s.seconds)
            wrk.run(ctx.url("/api/v1/payments"), script, seconds, s.connections, s.threads, s.client_cpu)
            listed = _api(ctx, "GET", f"/api/v1/webhooks/{hook['id']}/deliveries?per_page=1")
            total = int(listed["total"])  # type: ignore[call-overload]
            _receiver_call(receiver, "/open")
            deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
            while True:
                stats = _receiver_call(receiver, "/stats")
                if int(stats["answered"]) >= total:  # type: ignore[call-overload]
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name}: {stats['answered']} of {total} answered in {DRAIN_LIMIT_SECONDS}s"
                    )
                time.sleep(0.05)
            took = float(stats["last_at"]) - float(stats["opened_at"])  # type: ignore[arg-type]
            rate = total / took if took > 0 else 0.0
            return Result(self.name, rate, unit="events/s", note=f"{total:,} deliveries in {took:.2f} s")
        finally:
            receiver.stop()


_REFUSING = Unreachable(answering=False)
_SILENT = Unreachable(answering=True)

# In the harness's order: scenarios with the same flags share a server, in this order.
WEBHOOK_SCENARIOS = [
    Payments("no webhook", paced=True),
    Payments("webhook receiver up", paced=True, live=True),
    Payments("webhook receiver up", paced=False, live=True),
    Payments("webhook receiver refusing connections", paced=True, down=_REFUSING),
    Payments("webhook receiver refusing connections", paced=False, down=_REFUSING),
    Payments("webhook receiver not answering", paced=True, down=_SILENT),
    Payments("webhook receiver not answering", paced=False, down=_SILENT),
    DeliveryThroughput(),
]
