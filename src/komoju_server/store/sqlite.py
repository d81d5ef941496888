"""SQLite, the embedded default: WAL, synchronous=FULL, and group commit.

One writer thread owns the only write connection. It takes every unit of work waiting in
its queue, runs each inside its own SAVEPOINT (a failing unit rolls back alone), and makes
them all durable with one COMMIT, one fsync, before any of their callers hears back. Reads
use a separate connection on the event loop's thread: WAL gives them the last committed
state without waiting for the writer.

An unreachable database (the file cannot be opened, I/O errors, a full disk, a lock held
elsewhere past the busy timeout) raises `StoreUnavailable`; SQL errors keep their own. Before
each COMMIT the writer also checks that the file it writes is still the one at the
database's path: a database whose directory was moved, unmounted or replaced while the
server ran fails its writes (and rolls them back) instead of acknowledging them into a file
nobody will open again. The writer never dies of an error: when its connection cannot even
roll back, it is replaced, and a connection that cannot be opened is retried with the next
batch.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Sequence
from typing import Any

from komoju_server.store import migrations
from komoju_server.store.base import Conflict, Listeners, Outage, Row, Write
from komoju_server.store.sqlite_batch import Batch, Counters

_MAX_BATCH = 512
_STOP = object()
# Primary result codes meaning the database cannot be used now, as opposed to a bad statement.
_UNREACHABLE_CODES = frozenset(
    {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY}
)


class DatabaseMoved(OSError):
    """The file the writer has open is no longer the one at the database's path."""


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (as opposed to a bug, a bad statement)."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:  # not from the library itself
            return False
        return (code & 0xFF) in _UNREACHABLE_CODES
    return isinstance(exc, OSError)


def _identity(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


# The database and the files SQLite keeps beside it in WAL mode: customers' names, emails and
# phone numbers are in all three.
FILE_SUFFIXES = ("", "-wal", "-shm")


def _in_memory(path: str) -> bool:
    return path in ("", ":memory:") or path.startswith("file:")


def create_private(path: str) -> None:
    """Create the database file 0600 before SQLite does (it would make it 0644, less the umask).
    SQLite gives the WAL and shared-memory files it creates the database file's own mode."""
    if _in_memory(path):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # there already, or not possible: SQLite opens it, or says why it cannot
        return
    os.close(fd)


def exposed_files(path: str) -> list[tuple[str, int]]:
    """The database's files (and their modes) that group or others may read or write."""
    if _in_memory(path):
        return []
    exposed = []
    for suffix in FILE_SUFFIXES:
        try:
            mode = stat.S_IMODE(os.stat(path + suffix).st_mode)
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            exposed.append((path + suffix, mode))
    return exposed


def _connect(path: str) -> sqlite3.Connection:
    create_private(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class _Job:
    __slots__ = ("unit", "future", "loop")

    def __init__(self, unit: Sequence[Write], future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.unit = unit
        self.future = future
        self.loop = loop


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the database file opened
        self._counters = Counters()  # the writer thread's own
        self.outage = Outage("SQLite database")
        self.listeners = Listeners()  # told once a unit committed (`Write.wakes`)

    # -- life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._wconn = _connect(self.path)
            self._rconn = _connect(self.path)
            self._file = _identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            for conn in (self._wconn, self._rconn):
                if conn is not None:
                    conn.close()
            self._wconn = self._rconn = None
            if unreachable(exc):
                raise self.outage.lost("open", exc) from exc
            raise
        self.outage.ok("open")
        self._writer = threading.Thread(target=self._write_loop, name="sqlite-writer", daemon=True)
        self._writer.start()

    async def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
            self._writer = None
        for conn in (self._wconn, self._rconn):
            if conn is not None:
                conn.close()
        self._wconn = self._rconn = None

    # -- reads ----------------------------------------------------------------------------

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        assert self._rconn is not None
        try:
            row = self._rconn.execute(sql, params).fetchone()
        except sqlite3.OperationalError as exc:
            self._raise_if_unreachable("reads", exc)
            raise
        self.outage.ok("reads")
        return row

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._rconn is not None
        try:
            rows = self._rconn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            self._raise_if_unreachable("reads", exc)
            raise
        self.outage.ok("reads")
        return rows

    def _raise_if_unreachable(self, channel: str, exc: Exception) -> None:
        if unreachable(exc):
            raise self.outage.lost(channel, exc) from exc

    async def ping(self) -> None:
        """Reads answer and the file is where it was opened; while writes are failing, one real
        write (that changes nothing) must go through too."""
        await self.fetch_one("SELECT 1")
        try:
            self._check_in_place()
        except DatabaseMoved as exc:
            raise self.outage.lost("writes", exc) from exc
        if "writes" in self.outage.down:
            # A write that changes nothing but still reaches the file (an UPDATE setting a column
            # to itself does not): the header's user version, rewritten as it is.
            row = await self.fetch_one("PRAGMA user_version")
            version = int(row[0]) if row else 0
            await self.run([Write(f"PRAGMA user_version = {version}", label="probe")])

    # -- writes ---------------------------------------------------------------------------

    async def run(self, unit: Sequence[Write]) -> list[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.put(_Job(unit, future, loop))
        try:
            counts = await future
        except (sqlite3.OperationalError, OSError) as exc:
            self._raise_if_unreachable("writes", exc)
            raise
        self.outage.ok("writes")
        self.listeners.committed(unit, counts)
        return counts

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(batch)
            if stop:
                return

    def _commit_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, bool]]
        conn = self._wconn
        try:
            if conn is None:  # lost to an earlier failure: open a new one
                conn = self._wconn = _connect(self.path)
            outcomes = Batch(conn, self._counters).run(batch)
            self._check_in_place()
            conn.execute("COMMIT")
        except BaseException as exc:
            self._counters.forget()
            if conn is not None and conn.in_transaction:
                self._roll_back(conn)
            outcomes = [(job, exc, False) for job in batch]
        # One wake-up per event loop for the whole batch, not one per unit: each wake-up is a
        # write to the loop's self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any, bool]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    def _check_in_place(self) -> None:
        """Raises `DatabaseMoved` unless the file at the database's path is the one opened."""
        try:
            here = _identity(self.path)
        except OSError as exc:
            raise DatabaseMoved(f"no database file at {self.path} any more ({exc.strerror})") from None
        if here != self._file:
            raise DatabaseMoved(f"{self.path} is another file than the one opened")

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot roll back is not trusted again: closing it drops its
            # transaction, and the next batch opens a new one.
            self._wconn = None
            try:
                conn.close()
            except sqlite3.Error:
                pass

    # -- schema ---------------------------------------------------------------------------

    async def migrate(self, upto: int | None = None) -> list[int]:
        conn = _connect(self.path)
        try:
            conn.execute(migrations.CREATE_LEDGER)
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            done = []
            for version, _name, statements in migrations.pending(applied, upto):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in migrations.rendered(statements, self.kind):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, int(time.time()))
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                done.append(version)
            return done
        finally:
            conn.close()


def _settle_all(outcomes: list[tuple[_Job, Any, bool]]) -> None:
    for job, value, ok in outcomes:
        if job.future.cancelled():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


__all__ = ["SqliteStore", "Conflict"]
