"""httpcore's network streams on asyncio's own transports, for the webhook worker's connections.

httpcore reaches the network through a backend it is given (`connect.PolicyBackend` wraps
this one). Its default goes through anyio, which on asyncio costs a cancel scope for every
read and write (with two `current_task` look-ups each), a `select` call for every request on
a kept-alive connection (to see whether the receiver closed it meanwhile), and attribute
look-ups through several layers: together about a third of a delivery's CPU, measured with
py-spy on a server delivering while it takes payments (bench/README.md). Here a read waits on
a future that `data_received` completes; a write is the transport's; whether an idle
connection was closed is known from `eof_received`, without a system call.

What comes in is buffered up to `BUFFERED` bytes; past that the transport stops reading until
the worker reads, so a receiver sending an endless answer fills no memory.
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore

BUFFERED = 64 * 1024
# What httpcore asks a stream about, by the name asyncio's transports give it.
_TRANSPORT_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}


class _Protocol(asyncio.Protocol):
    """What the transport hands over: bytes into a buffer, the end of the stream, a lost
    connection; and when writing must wait for the transport's buffer to drain."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the receiver closed its side, or the connection was lost
        self.lost: BaseException | None = None
        self.reading_paused = False
        self._data: asyncio.Future[None] | None = None  # a read waiting for bytes or the end
        self._drained: asyncio.Future[None] | None = None  # a write waiting for the buffer to drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > BUFFERED and not self.reading_paused and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool | None:
        self.ended = True
        self._wake_reader()
        return None  # the transport closes itself: a receiver's half-close ends the connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.lost = exc
        self._wake_reader()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def data_waiter(self) -> asyncio.Future[None]:
        self._data = asyncio.get_running_loop().create_future()
        return self._data

    def drain_waiter(self) -> asyncio.Future[None] | None:
        return self._drained

    def _wake_reader(self) -> None:
        if self._data is not None and not self._data.done():
            self._data.set_result(None)
        self._data = None


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.ended:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.data_waiter()
            except TimeoutError as exc:
                raise httpcore.ReadTimeout("timed out reading") from exc
        if protocol.buffer:
            if len(protocol.buffer) <= max_bytes:  # the usual case: all of it, one copy
                data = bytes(protocol.buffer)
                protocol.buffer.clear()
            else:
                data = bytes(protocol.buffer[:max_bytes])
                del protocol.buffer[:max_bytes]
            if protocol.reading_paused and len(protocol.buffer) <= BUFFERED and not self._transport.is_closing():
                self._transport.resume_reading()
                protocol.reading_paused = False
            return data
        if protocol.lost is not None:
            raise httpcore.ReadError(str(protocol.lost) or type(protocol.lost).__name__) from protocol.lost
        return b""  # the receiver closed its side

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._protocol.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        drained = self._protocol.drain_waiter()
        if drained is not None:
            try:
                async with asyncio.timeout(timeout):
                    await drained
            except TimeoutError as exc:
                raise httpcore.WriteTimeout("timed out writing") from exc
            if self._protocol.lost is not None:
                raise httpcore.WriteError(str(self._protocol.lost)) from self._protocol.lost

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from exc
        except OSError as exc:  # ssl.SSLError among them
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection was closed during the handshake
            raise httpcore.ConnectError("the connection was closed in the TLS handshake")
        self._protocol.transport = typing.cast(asyncio.Transport, transport)  # reading pauses on it now
        return AsyncioStream(self._protocol.transport, self._protocol)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":  # on an idle connection: the receiver closed it, or said something unasked
            return self._protocol.ended or bool(self._protocol.buffer)
        name = _TRANSPORT_INFO.get(info)
        return None if name is None else self._transport.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("timed out connecting") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook receivers")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
