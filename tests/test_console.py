"""The console's parts on their own: the writer thread, the line formats, what is made safe to
print. (tests/e2e/test_console.py reads a real server's console.)"""

from __future__ import annotations

import json
import os
import re
import threading
import time

import pytest

from komoju_server import console
from komoju_server.console import JsonConsole, LineWriter, TextConsole
from komoju_server.webhooks.worker import Attempt


class Pipe:
    """A pipe the writer writes to, and everything read from it (each read kept apart)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.reads: list[bytes] = []
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def start(self) -> Pipe:
        self._thread.start()
        return self

    def _drain(self) -> None:
        while chunk := os.read(self.read_fd, 1 << 20):
            self.reads.append(chunk)

    def text(self) -> str:
        return b"".join(self.reads).decode()

    def close(self) -> None:
        os.close(self.write_fd)
        self._thread.join(5)
        os.close(self.read_fd)


class RecordingWriter(LineWriter):
    def __init__(self, fd: int) -> None:
        self.writes: list[bytes] = []
        super().__init__(fd)

    def _write_all(self, data: bytes) -> None:
        self.writes.append(data)
        super()._write_all(data)


def test_the_writer_writes_every_line_in_order_in_pieces_of_whole_lines():
    pipe = Pipe().start()
    writer = RecordingWriter(pipe.write_fd)
    lines = [f"line {n} {'x' * (n % 300)}\n".encode() for n in range(5000)]
    for line in lines:
        writer.add(line)
    writer.flush()
    pipe.close()
    assert pipe.text() == b"".join(lines).decode()
    # Each write: whole lines, at most PIPE_BUF bytes (so processes sharing a pipe never mix
    # lines), and many lines per system call.
    assert all(piece.endswith(b"\n") and len(piece) <= console.PIPE_BUF for piece in writer.writes)
    assert len(writer.writes) < len(lines) / 10


def test_a_console_nobody_reads_drops_lines_and_says_how_many(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(console, "MAX_PENDING", 100)
    read_fd, write_fd = os.pipe()
    writer = LineWriter(write_fd)
    big = b"y" * 4000 + b"\n"
    started = time.monotonic()
    for _ in range(1000):  # the pipe (64 KB) fills at once: the writer thread blocks, add() never does
        writer.add(big)
    assert time.monotonic() - started < 1
    received = b""
    while not received.endswith(b"(nothing read the console in time)\n"):
        received += os.read(read_fd, 1 << 20)
    os.close(write_fd)
    os.close(read_fd)
    dropped = int(re.search(rb"console: (\d+) lines dropped", received).group(1))  # type: ignore[union-attr]
    assert received.count(big) + dropped == 1000
    assert dropped >= 1000 - 100 - (1 << 16) // len(big) - 2


def test_a_closed_console_stops_writing_without_failing():
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    writer = LineWriter(write_fd)
    writer.add(b"nobody reads this\n")
    writer.flush()
    writer.add(b"nor this\n")
    writer.flush()
    os.close(write_fd)


def attempt(**change: object) -> Attempt:
    base: dict[str, object] = dict(
        delivery_id="d1",
        event_id="ev1",
        event_type="payment.captured",
        url="https://user:hunter2@hooks.example.com:8443/komoju?token=s3cr3t#frag",
        number=1,
        status=500,
        error="http_error",
        duration_ms=12,
        outcome="retrying",
        next_attempt_at=int((time.time() + 65) * 1000),
    )
    base.update(change)
    return Attempt(**base)  # type: ignore[arg-type]


STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def text_lines(fill: object) -> list[str]:
    pipe = Pipe().start()
    out = TextConsole(LineWriter(pipe.write_fd))
    fill(out)  # type: ignore[operator]
    out.flush()
    pipe.close()
    return pipe.text().splitlines()


def test_text_lines():
    def fill(out: TextConsole) -> None:
        out.request("POST", "/api/v1/payments", 200, 4.123, "84d6309558e8000000000003")
        out.request("GET", "/api/v1/x%0aFAKE\nline", 404, 0.25, "evil id\x1b[31m")
        out.delivery(attempt())
        out.delivery(attempt(number=2, status=200, error=None, outcome="succeeded", next_attempt_at=None))
        out.delivery(attempt(number=12, status=None, error="connect_error", outcome="gave_up", next_attempt_at=None))
        out.expired("pay1", "merch1", "test", "konbini")

    lines = text_lines(fill)
    assert len(lines) == 6
    assert re.fullmatch(STAMP + r" POST /api/v1/payments 200 4\.1ms id=84d6309558e8000000000003", lines[0])
    assert re.fullmatch(STAMP + r" GET /api/v1/x%0aFAKE\\nline 404 0\.2ms id=evil\\x20id\\x1b\[31m", lines[1])
    hook = "webhook payment.captured ev1 -> https://hooks.example.com:8443/komoju"
    assert re.fullmatch(
        STAMP + rf" {hook} 500 12ms attempt 1, next try \d\d:\d\d:\d\d \(in (1m|65s|64s)\)", lines[2]
    ), lines[2]
    assert re.fullmatch(STAMP + rf" {hook} 200 12ms attempt 2, delivered", lines[3])
    assert re.fullmatch(STAMP + rf" {hook} connect_error 12ms attempt 12, gave up", lines[4])
    assert re.fullmatch(STAMP + r" expired test payment pay1 \(konbini\) of merchant merch1", lines[5])
    assert not any("hunter2" in line or "s3cr3t" in line or "frag" in line for line in lines)


def test_json_lines():
    pipe = Pipe().start()
    out = JsonConsole(LineWriter(pipe.write_fd))
    out.request("POST", "/api/v1/payments", 201, 4.126, "rid")
    out.delivery(attempt(next_attempt_at=1_750_000_000_123))
    out.expired("pay1", "merch1", "test", "konbini")
    out.flush()
    pipe.close()
    request, hook, expired = [json.loads(line) for line in pipe.text().splitlines()]
    for entry in (request, hook, expired):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
        assert entry.pop("pid") == os.getpid()
    assert request == {
        "type": "request",
        "method": "POST",
        "path": "/api/v1/payments",
        "status": 201,
        "duration_ms": 4.13,
        "request_id": "rid",
    }
    assert hook == {
        "type": "webhook",
        "event_type": "payment.captured",
        "event_id": "ev1",
        "delivery_id": "d1",
        "url": "https://hooks.example.com:8443/komoju",
        "attempt": 1,
        "status": 500,
        "error": "http_error",
        "duration_ms": 12,
        "outcome": "retrying",
        "next_attempt_at": "2025-06-15T15:06:40.123Z",
    }
    assert expired == {
        "type": "payment_expired",
        "payment_id": "pay1",
        "merchant_id": "merch1",
        "mode": "test",
        "payment_method": "konbini",
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:9000/hook", "http://127.0.0.1:9000/hook"),
        ("https://a:b@example.com/x?y=1#z", "https://example.com/x"),
        ("http://[::1]:8080/h?q", "http://[::1]:8080/h"),
        ("http://EXAMPLE.com/a b", "http://example.com/a\\x20b"),
        ("http://example.com:99999/", "(an unreadable URL)"),
    ],
)
def test_safe_url(url: str, shown: str):
    assert console.safe_url(url) == shown


@pytest.mark.parametrize(
    ("seconds", "said"), [(0, "0s"), (44.6, "45s"), (60, "1m"), (125, "2m"), (3600, "1h"), (5400, "1h30m")]
)
def test_wait_text(seconds: float, said: str):
    assert console.wait_text(seconds) == said


def test_long_paths_are_cut():
    assert console.printable_path("/" + "a" * 2000) == "/" + "a" * (console.MAX_PATH - 4) + "..."
