"""The console: what `serve` prints while it runs.

After the first line (`listening on http://HOST:PORT`, printed by server.py in every mode,
which scripts rely on) and the start banner, one line per request, one per webhook delivery
attempt and one per payment that expires. As text for people (the default) or, with
`--log-format json`, one JSON object per line with named fields; `--quiet` prints none of it.

What a line never holds: a request or response body, a query string (list filters may hold
email addresses), an API key or any other header, a card detail, a webhook's secret token,
a receiver URL's user name, password or query. Paths and request ids are printed with
anything unprintable escaped, so a request cannot forge console lines.

Cheap on the request path: a line is formatted (a few microseconds) and appended to a queue;
a writer thread takes whatever has gathered and writes it in one system call, a few times a
second at most. A console nobody reads (a full pipe) blocks the writer thread, never the event
loop; past `MAX_PENDING` waiting lines, lines are dropped and counted, and the count is
printed once the console drains. Each write is cut at line ends into pieces of at most
`PIPE_BUF` bytes, so the lines of several worker processes sharing one pipe never interleave
mid-line.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

if TYPE_CHECKING:
    from komoju_server.config import Settings
    from komoju_server.webhooks.worker import Attempt

MAX_PENDING = 100_000  # lines waiting for the writer; more are dropped (and counted)
GATHER_SECONDS = 0.02  # the writer waits this long after a first line, to write many at once
PIPE_BUF = 4096  # POSIX: writes of at most this many bytes to a pipe are not interleaved
MAX_PATH = 512  # characters of a path printed; longer ones are cut
MAX_REQUEST_ID = 128


class LineWriter:
    """Writes lines (bytes ending in a newline) to a file descriptor from a thread of its own."""

    def __init__(self, fd: int = 1) -> None:
        self._fd = fd
        self._lines: collections.deque[bytes] = collections.deque()
        self._armed = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._dropped = 0
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="komoju-console", daemon=True)
        self._thread.start()

    def add(self, line: bytes) -> None:
        if len(self._lines) >= MAX_PENDING:
            self._dropped += 1
            return
        self._lines.append(line)
        if not self._armed:  # the first line since the writer last looked: wake it
            self._armed = True
            self._idle.clear()
            self._wake.set()

    def flush(self, timeout: float = 2.0) -> None:
        """Waits (up to `timeout`) until every line added so far is written."""
        self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(GATHER_SECONDS)
            self._wake.clear()
            # From here on, a new line wakes the writer again; whatever came before is taken now.
            self._armed = False
            batch: list[bytes] = []
            while True:
                try:
                    batch.append(self._lines.popleft())
                except IndexError:
                    break
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                batch.append(f"console: {dropped} lines dropped (nothing read the console in time)\n".encode())
            self._write(batch)
            if not self._lines and not self._armed:
                self._idle.set()

    def _write(self, batch: list[bytes]) -> None:
        if self._broken:
            return
        piece: list[bytes] = []
        size = 0
        for line in batch:
            if size + len(line) > PIPE_BUF and piece:
                self._write_all(b"".join(piece))
                piece, size = [], 0
            piece.append(line)
            size += len(line)
        if piece:
            self._write_all(b"".join(piece))

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._broken:
            try:
                view = view[os.write(self._fd, view) :]
            except InterruptedError:
                continue
            except OSError:  # the reader is gone (EPIPE), or the descriptor is: stop writing
                self._broken = True


@dataclass(frozen=True)
class MerchantShown:
    """The merchant the banner names: its id, name and test keys (None: not kept, see merchants)."""

    merchant_id: str
    name: str
    test_secret_key: str | None
    test_publishable_key: str | None
    note: str | None = None  # why the keys are not shown


@dataclass(frozen=True)
class Banner:
    version: str
    base_url: str
    workers: int
    database: str  # the database's kind and place, without a password
    merchant: MerchantShown | None
    created: dict[str, str] | None  # the keys of a merchant made at this start (live ones shown only now)

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def dashboard(self) -> str:
        return f"{self.base_url}/dashboard"


class Console:
    """Prints nothing: `--quiet`. The text and JSON consoles below print."""

    prints = False

    def request(self, method: str, path: str, status: int, duration_ms: float, request_id: str) -> None:
        pass

    def delivery(self, attempt: Attempt) -> None:
        pass

    def expired(self, payment_id: str, merchant_id: str, mode: str, method_type: str) -> None:
        pass

    def banner(self, banner: Banner) -> None:
        pass

    def flush(self) -> None:
        pass


class _Printing(Console):
    prints = True

    def __init__(self, writer: LineWriter | None = None) -> None:
        self._writer = writer or LineWriter()
        self._second = -1
        self._stamp = ""
        self._milli = -1  # the millisecond `_milli_stamp` was made for
        self._milli_stamp = ""

    def flush(self) -> None:
        self._writer.flush()
        sys.stdout.flush()

    def _now(self) -> tuple[float, str]:
        """The time now, and as printed: made once a millisecond (a busy server prints several
        lines in one), the part up to the second once a second."""
        now = time.time()
        milli = int(now * 1000)
        if milli != self._milli:
            second, part = divmod(milli, 1000)
            if second != self._second:
                self._second = second
                self._stamp = self._second_stamp(second)
            self._milli = milli
            self._milli_stamp = f"{self._stamp}.{part:03d}"
        return now, self._milli_stamp

    def _second_stamp(self, second: int) -> str:
        raise NotImplementedError


class TextConsole(_Printing):
    """Lines for people, in local time:

    2025-06-01 12:34:56.789 POST /api/v1/payments 200 4.1ms id=5f0c...
    2025-06-01 12:34:57.001 webhook payment.captured 8k2l... -> http://127.0.0.1:9000/hook 500 12ms
        attempt 1, next try 12:35:57 (in 1m)    [on the same line]
    """

    def _second_stamp(self, second: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))

    def request(self, method: str, path: str, status: int, duration_ms: float, request_id: str) -> None:
        _, stamp = self._now()
        line = f"{stamp} {method} {printable_path(path)} {status} {duration_ms:.1f}ms id={printable(request_id)}\n"
        self._writer.add(line.encode())

    def delivery(self, attempt: Attempt) -> None:
        now, stamp = self._now()
        answer = str(attempt.status) if attempt.status is not None else attempt.error or "error"
        if attempt.outcome == "succeeded":
            then = "delivered"
        elif attempt.next_attempt_at is None:
            then = "gave up"
        else:
            at = attempt.next_attempt_at / 1000
            then = f"next try {time.strftime('%H:%M:%S', time.localtime(at))} (in {wait_text(at - now)})"
        line = (
            f"{stamp} webhook {attempt.event_type} {attempt.event_id} -> {safe_url(attempt.url)} "
            f"{answer} {attempt.duration_ms}ms attempt {attempt.number}, {then}\n"
        )
        self._writer.add(line.encode())

    def expired(self, payment_id: str, merchant_id: str, mode: str, method_type: str) -> None:
        _, stamp = self._now()
        line = f"{stamp} expired {mode} payment {payment_id} ({method_type}) of merchant {merchant_id}\n"
        self._writer.add(line.encode())

    def banner(self, banner: Banner) -> None:
        lines = [
            f"komoju-server {banner.version} ({banner.database}"
            + (f", {banner.workers} worker processes)" if banner.workers > 1 else ")"),
            f"  API:       {banner.api}",
            f"  dashboard: {banner.dashboard}",
        ]
        shown = banner.merchant
        if shown is None:
            lines.append("  no merchant yet: komoju-server merchants create")
        else:
            lines.append(f"  merchant:  {shown.merchant_id} ({shown.name})")
            if shown.test_secret_key is not None and shown.test_publishable_key is not None:
                lines.append(f"  test secret key: {shown.test_secret_key}")
                lines.append(f"  test publishable key: {shown.test_publishable_key}")
            else:
                lines.append(f"  test keys: {shown.note}")
            lines.append("  (`komoju-server merchants list` shows every merchant's test keys again)")
        if banner.created is not None:
            lines.append(f"created merchant {banner.created['merchant_id']}; its live keys are shown only now:")
            lines += [f"  {name.replace('_', ' ')}: {key}" for name, key in banner.created.items() if "live" in name]
        print("\n".join(lines), flush=True)


class JsonConsole(_Printing):
    """One JSON object per line, with `time` (UTC) and `type` first:

    {"time":"2025-06-01T03:34:56.789Z","type":"request","method":"POST","path":"/api/v1/payments",...}
    """

    def __init__(self, writer: LineWriter | None = None) -> None:
        super().__init__(writer)
        self._pid = os.getpid()

    def _second_stamp(self, second: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))

    def _line(self, kind: str, fields: dict[str, Any]) -> bytes:
        _, stamp = self._now()
        return orjson.dumps({"time": stamp + "Z", "type": kind, **fields, "pid": self._pid}) + b"\n"

    def request(self, method: str, path: str, status: int, duration_ms: float, request_id: str) -> None:
        fields = {
            "method": method,
            "path": cut(path, MAX_PATH),
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "request_id": cut(request_id, MAX_REQUEST_ID),
        }
        self._writer.add(self._line("request", fields))

    def delivery(self, attempt: Attempt) -> None:
        fields = {
            "event_type": attempt.event_type,
            "event_id": attempt.event_id,
            "delivery_id": attempt.delivery_id,
            "url": safe_url(attempt.url),
            "attempt": attempt.number,
            "status": attempt.status,
            "error": attempt.error,
            "duration_ms": attempt.duration_ms,
            "outcome": attempt.outcome,
            "next_attempt_at": None if attempt.next_attempt_at is None else iso_ms(attempt.next_attempt_at),
        }
        self._writer.add(self._line("webhook", fields))

    def expired(self, payment_id: str, merchant_id: str, mode: str, method_type: str) -> None:
        fields = {"payment_id": payment_id, "merchant_id": merchant_id, "mode": mode, "payment_method": method_type}
        self._writer.add(self._line("payment_expired", fields))

    def banner(self, banner: Banner) -> None:
        shown = banner.merchant
        fields: dict[str, Any] = {
            "version": banner.version,
            "url": banner.base_url,
            "api": banner.api,
            "dashboard": banner.dashboard,
            "database": banner.database,
            "workers": banner.workers,
            "merchant": None
            if shown is None
            else {
                "id": shown.merchant_id,
                "name": shown.name,
                "test_secret_key": shown.test_secret_key,
                "test_publishable_key": shown.test_publishable_key,
                "note": shown.note,
            },
            "created": banner.created,
        }
        sys.stdout.buffer.write(self._line("started", fields))
        sys.stdout.flush()


def console_for(settings: Settings) -> Console:
    if settings.quiet:
        return Console()
    return JsonConsole() if settings.log_format == "json" else TextConsole()


# -- making things safe to print ---------------------------------------------------------------


def printable(text: str) -> str:
    """`text` with anything unprintable (newlines, escapes, spaces) escaped: one token of one line."""
    if text.isprintable() and " " not in text:
        return cut(text, MAX_REQUEST_ID)
    return cut(text.encode("unicode_escape").decode("ascii").replace(" ", "\\x20"), MAX_REQUEST_ID)


def printable_path(path: str) -> str:
    if not (path.isprintable() and " " not in path):
        path = path.encode("unicode_escape").decode("ascii").replace(" ", "\\x20")
    return cut(path, MAX_PATH)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_url(url: str) -> str:
    """A receiver's URL without user name, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except ValueError:
        return "(an unreadable URL)"
    return printable_path(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def iso_ms(epoch_ms: int) -> str:
    seconds, ms = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def wait_text(seconds: float) -> str:
    """A wait as people say it: 45s, 2m, 1h30m, 8h."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


# -- log records (warnings, errors; uvicorn's too) ---------------------------------------------


class JsonLogFormatter(logging.Formatter):
    """`--log-format json` for log records as well: one object per line, on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        entry = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "type": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Log records go to stderr, as text or JSON; `--quiet` keeps warnings and errors only.
    Every server process calls it (worker processes start with no logging set up)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING if settings.quiet else logging.INFO, handlers=[handler])
