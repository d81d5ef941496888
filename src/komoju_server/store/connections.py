"""The PostgreSQL store's connections, lent to one statement or one transaction at a time.

This does for the store what asyncpg's `Pool` did, at a fraction of its cost: measured with
`time.thread_time()` around `SELECT 1`, the pool added about 50 us of CPU to the statement's
75 (a task and a timer for each acquire with a timeout, a `shield` task for each release, a
proxy and an idle timer for each use), and a payment is about one statement (bench/README.md).

A connection is lent again as it was given back, with no reset query (asyncpg's default,
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, is one more round trip
each time): the store holds a connection only around one statement or one transaction and
leaves no session state behind. Its setting belongs to its transaction (the numbering's
`set_config(..., true)`), its lock too (the migrations' `pg_advisory_xact_lock`, on a
connection of their own), and it opens no cursor and listens to nothing;
tests/store/test_connections.py holds it to that. So lending is simple:

- take the connection given back last (so that few stay warm), or open one while fewer than
  `most` are open, or else wait, at most `wait` seconds, for one to be given back or for the
  place of one closed;
- take it back, unless something may be left on it: a transaction still open (a unit cut off
  mid-way), or the block ended by a cancellation, a timeout or a connection error, after which
  asyncpg may still be reading an answer or cancelling a statement. Such a connection is closed
  at once (PostgreSQL rolls back what it left), and its place freed for a new one. After
  PostgreSQL's own error, or the store's (a `Conflict`), the connection is as good as before;
- a connection the server or the network closed while it was idle is dropped when found; one
  idle for `idle_lifetime` seconds is closed (one timer for them all), so that a quiet server
  lets go of PostgreSQL's connections, as asyncpg's pool did.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import asyncpg

IDLE_LIFETIME = 300.0  # seconds, as asyncpg's pool (max_inactive_connection_lifetime)
# What may leave asyncpg busy on a connection, or the connection broken.
_UNSETTLED = (TimeoutError, OSError, asyncpg.exceptions.InterfaceError)


class Closed(asyncpg.exceptions.InterfaceError):
    """The store is closing: no more connections are lent."""


class Connections:
    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        most: int,
        wait: float,
        idle_lifetime: float = IDLE_LIFETIME,
    ) -> None:
        self._connect = connect
        self._most = most
        self._wait = wait
        self._idle_lifetime = idle_lifetime
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # with when each was given back
        self._open = 0  # lent, idle or being opened
        # Who waits for a connection: given one, or None for the place of one that was closed.
        self._waiting: collections.deque[asyncio.Future[asyncpg.Connection | None]] = collections.deque()
        self._closing = False
        self._sweep: asyncio.TimerHandle | None = None  # closes what stayed idle too long
        self._closings: set[asyncio.Task[None]] = set()

    def lend(self) -> Lease:
        """`async with connections.lend() as conn:` one connection for the block."""
        return Lease(self)

    @property
    def open(self) -> int:
        """How many connections are open (lent or idle) or being opened."""
        return self._open

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def take(self) -> asyncpg.Connection:
        if self._closing:
            raise Closed("the store is closing")
        while self._idle:
            conn, _ = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._drop(conn)
        if self._open < self._most:
            return await self._new()
        return await self._wait_for_one()

    def give_back(self, conn: asyncpg.Connection, error: BaseException | None = None) -> None:
        """Takes `conn` back from the block that used it, which raised `error` (or nothing)."""
        reusable = (
            not self._closing
            and (error is None or (isinstance(error, Exception) and not isinstance(error, _UNSETTLED)))
            and not conn.is_closed()
            and not conn.is_in_transaction()
        )
        if not reusable:
            self._drop(conn)
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append((conn, time.monotonic()))
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self._idle_lifetime, self._close_idle)

    async def close(self) -> None:
        """Closes the idle connections now, and each lent one as it is given back."""
        self._closing = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(Closed("the store is closing"))
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        await asyncio.gather(*(_close(conn) for conn, _ in idle), *self._closings)

    def _close_idle(self) -> None:
        """Closes the connections idle for `idle_lifetime` seconds; comes back for the others."""
        self._sweep = None
        now = time.monotonic()
        kept = [(conn, since) for conn, since in self._idle if now - since < self._idle_lifetime]
        for conn, since in self._idle:
            if now - since >= self._idle_lifetime:
                self._freed()
                task = asyncio.get_running_loop().create_task(_close(conn))
                self._closings.add(task)
                task.add_done_callback(self._closings.discard)
        self._idle = kept
        if kept:  # the oldest first (given back in turn)
            wait = self._idle_lifetime - (now - kept[0][1])
            self._sweep = asyncio.get_running_loop().call_later(wait, self._close_idle)

    async def _new(self) -> asyncpg.Connection:
        self._open += 1
        return await self._opening()

    async def _opening(self) -> asyncpg.Connection:
        """Opens a connection in a place already counted as open."""
        try:
            return await self._connect()
        except BaseException:
            self._freed()
            raise

    async def _wait_for_one(self) -> asyncpg.Connection:
        waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(self._wait):
                conn = await waiter
        except BaseException:
            # Timed out or cancelled, maybe just as a connection or a place was handed over:
            # pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._freed()
                else:
                    self.give_back(handed)
            raise
        return conn if conn is not None else await self._opening()

    def _drop(self, conn: asyncpg.Connection) -> None:
        conn.terminate()
        self._freed()

    def _freed(self) -> None:
        """One connection fewer is open: the first who waits may open one in its place."""
        self._open -= 1
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._open += 1  # the waiter's place from now on: `_wait_for_one` opens it
                waiter.set_result(None)
                return


async def _close(conn: asyncpg.Connection) -> None:
    """Closes `conn` politely (PostgreSQL logs no lost client), or at once when that fails."""
    try:
        await conn.close(timeout=2)
    except Exception:  # gone already, or too slow to say goodbye: closed all the same
        conn.terminate()


class Lease:
    """One connection, lent for an `async with` block."""

    __slots__ = ("_connections", "_conn")

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._connections.take()
        return self._conn

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._conn is not None
        self._connections.give_back(self._conn, error)
