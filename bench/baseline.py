"""The bare baseline the server is measured against: the least a durable payment API can do.

A raw ASGI app on uvicorn (uvloop, httptools) that, for a POST, checks an HTTP Basic API key,
parses a form body, makes one durable insert (under an id that begins with the time, as the
server's do) and answers a ~1 KB JSON document. For the reads, with the same key check:
`GET /payments/ID` answers the stored document of one payment (one indexed read),
`GET /payments` the newest 10 documents in a list envelope with the total (one range read and
one count, the documents pasted in as stored). GET /health answers 200. `POST
/payments/with-event` makes a payment's durable writes instead of the one insert (its row and
its event's, under the server's indexes: `WORK_SCHEMA`), a yardstick with no goal.

- On SQLite (`--database FILE`, WAL, synchronous=FULL), durability is made fast the way the
  server does it: group commit, one writer thread that takes every insert waiting in its queue
  and commits them together in one transaction (one fsync) before any of their callers hears
  back.
- On PostgreSQL (`--postgres URL`), each insert is its own transaction through an asyncpg
  pool (PostgreSQL groups concurrent commits into one WAL flush itself), and `--workers N`
  runs N processes on one listening socket, as `komoju-server serve --workers N` does.

It shares no code with komoju_server on purpose: it is the ceiling, not a copy. Run as a file:

    python bench/baseline.py --port 0 --database /tmp/base.db --secret-key sk_test_bench
    python bench/baseline.py --port 0 --postgres postgresql://... --workers 2 --secret-key sk_test_bench

The first printed line is `listening on http://HOST:PORT`, like `komoju-server serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import os
import queue
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import orjson
import uvicorn

MAX_BATCH = 512
_STOP = object()

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS payments ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, amount INTEGER NOT NULL,"
    " currency TEXT NOT NULL, created_at INTEGER NOT NULL, doc BLOB NOT NULL)"
)
INSERT = "INSERT INTO payments (id, amount, currency, created_at, doc) VALUES (?, ?, ?, ?, ?)"
PG_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS payments ("
    " seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, amount BIGINT NOT NULL,"
    " currency TEXT NOT NULL, created_at BIGINT NOT NULL, doc BYTEA NOT NULL)"
)
PG_INSERT = "INSERT INTO payments (id, amount, currency, created_at, doc) VALUES ($1, $2, $3, $4, $5)"
SHOW = "SELECT doc FROM payments WHERE id = ?"
NEWEST = "SELECT doc FROM payments ORDER BY seq DESC LIMIT 10"
TOTAL = "SELECT COALESCE(MAX(seq), 0) FROM payments"  # rows are never deleted
PER_PAGE = 10
POSTGRES_CONNECTIONS = 10  # per process, as the server's store opens at most

# `POST /payments/with-event`: a payment's durable work as the server does it
# (store/migrations.py), for the line that holds POST /api/v1/payments to it: the payment's row
# under the server's three list indexes and its event's row under the event's four, in one
# transaction. On SQLite the rows take their list positions as they are inserted (one process);
# on PostgreSQL they are inserted without one, as the server inserts them (it numbers them
# after the commit).
WORK_PATH = "/payments/with-event"
MERCHANT = "benchmerchant000000000000"  # 25 characters, as a merchant's id
MODE = "test"
WORK_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS listed_payments (seq {serial}, id TEXT NOT NULL UNIQUE,"
    " merchant_id TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " pos BIGINT, doc {blob} NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS listed_payments_by_position ON listed_payments (merchant_id, mode, pos)",
    "CREATE INDEX IF NOT EXISTS listed_payments_by_status ON listed_payments (merchant_id, mode, status, pos)",
    "CREATE INDEX IF NOT EXISTS listed_payments_by_time ON listed_payments (merchant_id, mode, created_at)",
    "CREATE TABLE IF NOT EXISTS events (seq {serial}, id TEXT NOT NULL UNIQUE, merchant_id TEXT NOT NULL,"
    " mode TEXT NOT NULL, type TEXT NOT NULL, created_at BIGINT NOT NULL, pos BIGINT, subject TEXT NOT NULL,"
    " doc {blob} NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON events (merchant_id, mode, pos)",
    "CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject, seq)",
    "CREATE INDEX IF NOT EXISTS events_by_type ON events (merchant_id, mode, type, pos)",
    "CREATE INDEX IF NOT EXISTS events_by_time ON events (merchant_id, mode, created_at)",
)
LISTED_INSERT = (
    "INSERT INTO listed_payments (id, merchant_id, mode, status, created_at, doc, pos) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
EVENT_INSERT = (
    "INSERT INTO events (id, merchant_id, mode, type, created_at, subject, doc, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
PG_WORK = (
    "WITH payment AS (INSERT INTO listed_payments (id, merchant_id, mode, status, created_at, doc)"
    " VALUES ($1, $2, $3, $4, $5, $6))"
    " INSERT INTO events (id, merchant_id, mode, type, created_at, subject, doc)"
    " VALUES ($7, $8, $9, $10, $11, $12, $13)"
)
POSITIONS = "SELECT (SELECT COALESCE(MAX(pos), 0) FROM listed_payments), (SELECT COALESCE(MAX(pos), 0) FROM events)"


def new_id() -> str:
    """25 characters, the time first (milliseconds, in hex), then random ones, as the server's
    ids begin with their time (domain/ids.py): a batch's inserts then land on the last page of
    the id index. Wholly random ids put each insert on a page of its own, which costs this
    baseline a quarter of its rate here (10,300 against 12,700-13,900 req/s), a cost the
    server does not pay and that would flatter its ratio."""
    return "%012x" % (time.time_ns() // 1_000_000) + os.urandom(7).hex()[:13]


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class GroupCommit:
    """One writer thread; every insert queued while it commits goes into its next transaction."""

    def __init__(self, path: str) -> None:
        self._conn = connect(path)
        self._conn.execute(SCHEMA)
        for statement in WORK_SCHEMA:
            self._conn.execute(statement.format(serial="INTEGER PRIMARY KEY", blob="BLOB"))
        self._positions = list(self._conn.execute(POSITIONS).fetchone())  # the writer's alone
        self._reader = connect(path)  # reads on the event loop's thread, as the server reads
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
        self._thread.start()

    async def insert(self, params: tuple[Any, ...], event: tuple[Any, ...] | None = None) -> None:
        """The payment's row; with `event`, its row under the list indexes and its event's row
        (WORK_SCHEMA)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(((params, event), future, loop))
        await future

    async def show(self, payment_id: str) -> bytes | None:
        row = self._reader.execute(SHOW, (payment_id,)).fetchone()
        return None if row is None else bytes(row[0])

    async def newest(self) -> tuple[int, list[bytes]]:
        total = self._reader.execute(TOTAL).fetchone()[0]
        return total, [bytes(row[0]) for row in self._reader.execute(NEWEST)]

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        self._conn.close()
        self._reader.close()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Any, asyncio.Future[None], asyncio.AbstractEventLoop]]) -> None:
        error: BaseException | None = None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for (params, event), _, _ in batch:
                if event is None:
                    self._conn.execute(INSERT, params)
                else:
                    self._positions[0] += 1
                    self._positions[1] += 1
                    self._conn.execute(LISTED_INSERT, (*params, self._positions[0]))
                    self._conn.execute(EVENT_INSERT, (*event, self._positions[1]))
            self._conn.execute("COMMIT")
        except BaseException as exc:  # the whole batch failed; every caller hears it
            error = exc
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        for _, future, loop in batch:
            loop.call_soon_threadsafe(_settle, future, error)


class PostgresInserts:
    """One transaction per insert, on connections opened at start (PostgreSQL's own group commit).

    The least a hand-out can do: a queue of open connections, no timeouts, no health checks,
    nothing reset when one comes back (nothing here outlives a statement). The server's store
    lends its connections with more care (store/connections.py) and is held to this."""

    def __init__(self, connections: list[asyncpg.Connection]) -> None:
        self._connections = connections
        self._idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        for conn in connections:
            self._idle.put_nowait(conn)

    @classmethod
    async def open(cls, url: str) -> PostgresInserts:
        connections = [await asyncpg.connect(url) for _ in range(POSTGRES_CONNECTIONS)]
        conn = connections[0]
        await conn.execute("SELECT pg_advisory_lock(1)")  # processes starting at once
        await conn.execute(PG_SCHEMA)
        for statement in WORK_SCHEMA:
            await conn.execute(statement.format(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA"))
        await conn.execute("SELECT pg_advisory_unlock(1)")
        return cls(connections)

    async def insert(self, params: tuple[Any, ...], event: tuple[Any, ...] | None = None) -> None:
        conn = await self._idle.get()
        try:
            if event is None:
                await conn.execute(PG_INSERT, *params)
            else:
                await conn.execute(PG_WORK, *params, *event)
        finally:
            self._idle.put_nowait(conn)

    async def show(self, payment_id: str) -> bytes | None:
        conn = await self._idle.get()
        try:
            return await conn.fetchval(SHOW.replace("?", "$1"), payment_id)
        finally:
            self._idle.put_nowait(conn)

    async def newest(self) -> tuple[int, list[bytes]]:
        conn = await self._idle.get()
        try:
            total = await conn.fetchval(TOTAL)
            return total, [row[0] for row in await conn.fetch(NEWEST)]
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._connections:
            await conn.close()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The user name of HTTP Basic auth."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, encoded = value.partition(b" ")
            if scheme.lower() != b"basic":
                return None
            try:
                return base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def payment_doc(payment_id: str, form: dict[str, str], amount: int, now: int) -> dict[str, Any]:
    """A payment-shaped answer of about 1 KB, like the API's."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    number = form.get("payment_details[number]", "")
    return {
        "id": payment_id,
        "resource": "payment",
        "status": "captured",
        "amount": amount,
        "tax": amount // 10,
        "customer": None,
        "payment_deadline": stamp,
        "payment_details": {
            "type": form.get("payment_details[type]"),
            "email": None,
            "brand": "visa",
            "last_four_digits": number[-4:],
            "month": int(form.get("payment_details[month]", "0") or 0),
            "year": int(form.get("payment_details[year]", "0") or 0),
        },
        "payment_method_fee": 0,
        "total": amount + amount // 10,
        "currency": form.get("currency"),
        "description": None,
        "subscription": None,
        "succeeded_at": stamp,
        "captured_at": stamp,
        "external_order_num": None,
        "metadata": {"order": "bench", "note": "x" * 300},
        "created_at": stamp,
        "amount_refunded": 0,
        "locale": "ja",
        "session": None,
        "customer_family_name": None,
        "customer_given_name": None,
        "mcc": None,
        "statement_descriptor": None,
        "refunds": [],
        "refund_requests": [],
    }


class Baseline:
    def __init__(self, database: str | None, postgres: str | None, secret_key: str) -> None:
        self._database = database
        self._postgres = postgres
        self._key = secret_key.encode()
        self._writer: GroupCommit | PostgresInserts | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._postgres is not None:
                    self._writer = await PostgresInserts.open(self._postgres)
                else:
                    assert self._database is not None
                    self._writer = GroupCommit(self._database)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if isinstance(self._writer, PostgresInserts):
                    await self._writer.close()
                elif self._writer is not None:
                    self._writer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "GET" and scope["path"] == "/health":
            await _answer(send, 200, b'{"status":"ok"}')
            return
        key = api_key(scope["headers"])
        if key is None or not hmac.compare_digest(key.encode(), self._key):
            await _answer(send, 401, b'{"error":{"code":"unauthorized","message":"bad key","param":null}}')
            return
        assert self._writer is not None
        if scope["method"] == "GET":
            await self._read(scope["path"], send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, b'{"error":{"code":"bad_request","message":"GET or POST","param":null}}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        amount_text = form.get("amount", "")
        if not amount_text.isdigit():
            await _answer(send, 422, b'{"error":{"code":"invalid_parameter","message":"amount","param":"amount"}}')
            return
        amount, now = int(amount_text), int(time.time())
        payment_id = new_id()
        doc = orjson.dumps(payment_doc(payment_id, form, amount, now))
        if scope["path"] == WORK_PATH:
            event_id = new_id()
            event = b'{"id":"%s","type":"payment.captured","resource":"event","data":%s,"created_at":%d}' % (
                event_id.encode(),
                doc,
                now,
            )
            await self._writer.insert(
                (payment_id, MERCHANT, MODE, "captured", now, doc),
                (event_id, MERCHANT, MODE, "payment.captured", now, payment_id, event),
            )
        else:
            await self._writer.insert((payment_id, amount, form.get("currency", ""), now, doc))
        await _answer(send, 200, doc)

    async def _read(self, path: str, send: Send) -> None:
        assert self._writer is not None
        if path == "/payments":
            total, docs = await self._writer.newest()
            last_page = max(1, -(-total // PER_PAGE))
            head = b'{"resource":"list","total":%d,"page":1,"per_page":%d,"last_page":%d,"data":[' % (
                total,
                PER_PAGE,
                last_page,
            )
            await _answer(send, 200, head + b",".join(docs) + b"]}")
            return
        doc = await self._writer.show(path.removeprefix("/payments/")) if path.startswith("/payments/") else None
        if doc is None:
            await _answer(send, 404, b'{"error":{"code":"not_found","message":"not found","param":null}}')
            return
        await _answer(send, 200, doc)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database", help="SQLite file")
    where.add_argument("--postgres", help="PostgreSQL URL")
    parser.add_argument("--workers", type=int, default=1, help="processes (PostgreSQL only)")
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args()
    if args.workers > 1 and args.postgres is None:
        parser.error("--workers needs --postgres: SQLite takes one writing process")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    config = uvicorn.Config(
        Baseline(args.database, args.postgres, args.secret_key),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    children = []
    for _ in range(args.workers - 1):  # the others accept on the same socket
        pid = os.fork()
        if pid == 0:
            uvicorn.Server(config).run(sockets=[sock])
            os._exit(0)
        children.append(pid)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        _stop(children)


def _stop(children: list[int], grace: float = 10.0) -> None:
    """SIGTERM to each worker, then SIGKILL to any still there after `grace` seconds: a worker
    whose shutdown hangs (its pool waiting on a connection) was left behind, orphaned, once
    bench's own stop timed out and killed this process first."""
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = set(children)
    while left and time.monotonic() < deadline:
        left = {pid for pid in left if os.waitpid(pid, os.WNOHANG) == (0, 0)}
        time.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
