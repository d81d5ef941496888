"""Every delivery attempt keeps what it sent (its signature) and the start of what the receiver
answered, for the dashboard's timeline: plain text as it came, a long answer cut, a compressed
one described, nothing when nobody answered."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from komoju_server.domain.webhook import Delivery
from komoju_server.webhooks import signing
from komoju_server.webhooks.worker import KEPT_ANSWER_BYTES
from tests.api.payment_support import card, created
from tests.inprocess import InProcessServer
from tests.webhooks.harness import fresh_database, own_app

SECRET = "answers-secret"
FAST = {"webhook_retry_schedule": "0.1s,0.1s", "webhook_retry_jitter": 0.0}


class Answering:
    """A receiver that answers every POST with the status, body and headers it is told."""

    def __init__(self) -> None:
        self.status, self.body, self.headers = 200, b"ok", {"Content-Type": "text/plain"}
        self.bodies: list[bytes] = []
        self.cookies: list[str | None] = []  # the Cookie header of each POST
        box = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                box.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                box.cookies.append(self.headers.get("Cookie"))
                self.send_response(box.status)
                for name, value in box.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(box.body)))
                self.end_headers()
                self.wfile.write(box.body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    with fresh_database(request.param, tmp_path) as url, own_app(url, **FAST) as server:
        yield server


@pytest.fixture
def answering() -> Iterator[Answering]:
    box = Answering()
    yield box
    box.close()


def settled(
    app: InProcessServer, event_id: str, attempts: int = 1, seconds: float = 15, status: str | None = None
) -> Delivery:
    """The event's one delivery once it has `attempts` finished attempts (and, if given, is in
    `status`: the delivery and its attempts are read apart, so one may be seen a moment ahead)."""
    caller = app.run(app.runtime.keyring.caller(app.secret_key))
    deadline = time.monotonic() + seconds
    while True:
        (delivery,) = app.run(app.runtime.webhooks.of_events(caller, [event_id]))
        done = [a for a in delivery.attempts if a.status != "sending"]
        if len(done) >= attempts and status in (None, delivery.status):
            return delivery
        assert time.monotonic() < deadline, delivery
        time.sleep(0.02)


def first_event(app: InProcessServer, url: str) -> str:
    with app.client(app.secret_key) as api:
        assert api.post("/webhooks", json={"url": url, "secret_token": SECRET}).status_code == 200
        return api.get("/events").json()["data"][0]["id"]  # the ping


def test_an_attempt_keeps_its_signature_and_the_receivers_answer(app, answering):
    event_id = first_event(app, answering.url)
    (attempt,) = settled(app, event_id).attempts
    assert (attempt.status, attempt.response_code, attempt.response_body) == ("succeeded", 200, "ok")
    assert attempt.signature == signing.sign(SECRET, answering.bodies[0])


def test_a_refusal_and_its_body_are_kept_for_every_attempt(app, answering):
    answering.status, answering.body = 500, b'{"error": "database down"}'
    answering.headers = {"Content-Type": "application/json"}
    event_id = first_event(app, answering.url)
    delivery = settled(app, event_id, attempts=3, status="failed")
    assert delivery.status == "failed"
    assert [(a.response_code, a.response_body, a.error) for a in delivery.attempts] == [
        (500, '{"error": "database down"}', "answered HTTP 500")
    ] * 3


def test_a_long_answer_is_cut_and_a_compressed_one_described(app, answering):
    answering.body = ("あ" * 1000).encode()  # 3000 bytes of UTF-8
    event_id = first_event(app, answering.url)
    (attempt,) = settled(app, event_id).attempts
    assert attempt.response_body == ("あ" * (KEPT_ANSWER_BYTES // 3)) + "\ufffd\u2026"  # cut inside a character
    answering.body = gzip.compress(b"compressed answer")
    answering.headers = {"Content-Encoding": "gzip"}
    with app.client(app.secret_key) as api:
        payment = created(api, card())
        captured = next(e for e in api.get("/events").json()["data"] if e["data"]["id"] == payment["id"])
    (attempt,) = settled(app, captured["id"]).attempts
    assert attempt.response_body == f"({len(answering.body)} bytes, gzip-encoded: not shown)"


def test_no_answer_keeps_no_body(app):
    event_id = first_event(app, "http://127.0.0.1:9/nobody")  # nothing listens on port 9
    attempt = settled(app, event_id).attempts[0]
    assert (attempt.response_code, attempt.response_body) == (None, None)
    assert attempt.error


def test_a_receiver_s_cookies_never_come_back(app, answering):
    """Deliveries keep no state between them: a receiver that sets a cookie is not sent it."""
    answering.headers = {"Content-Type": "text/plain", "Set-Cookie": "receiver_session=abc123; Path=/"}
    first_event(app, answering.url)
    with app.client(app.secret_key) as api:
        payments = [created(api, card()) for _ in range(3)]
        events = api.get("/events").json()["data"]
    for payment in payments:
        event = next(e for e in events if e["data"]["id"] == payment["id"])
        settled(app, event["id"])
    assert len(answering.cookies) >= 4 and set(answering.cookies) == {None}
