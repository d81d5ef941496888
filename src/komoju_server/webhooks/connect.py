"""Connecting to a webhook receiver under the outbound policy (`policy.py`).

The policy is applied to the address actually connected to, not to the URL: the receiver's
name is resolved once here, every address it resolves to is checked (one refused address
refuses the delivery: a name that mixes a public and a private address is a rebinding trick),
and the connection goes to an address that was checked, never to the name again (which a
second look-up could answer differently). The HTTP request keeps the URL's name: the Host
header and TLS's SNI and certificate check are httpcore's, from the URL, as ever.

This is an httpcore network backend (`PolicyBackend.connect_tcp` gets the host and port of
every new connection) over asyncio's own transports (`streams.py`), wrapped in an httpx
transport for the worker's clients. The resolver is a seam: tests give a stub, so no test
asks a real DNS server anything.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable

import httpcore
import httpx

from komoju_server.webhooks import policy
from komoju_server.webhooks.streams import AsyncioBackend

Resolver = Callable[[str, int], Awaitable[list[str]]]


class Refused(httpcore.ConnectError):
    """The policy refused every way to the receiver: nothing was connected to."""

    def __init__(self, category: str) -> None:
        super().__init__(f"refused by the outbound policy: {category} address")
        self.category = category


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for a name (an address gives itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PolicyBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._backend = backend or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: BaseException | None = None
        for address in await self.checked(host, port):  # each one checked; the next if one fails
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
        raise httpcore.ConnectError("could not connect") from last

    async def checked(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, once each, if the policy allows them all."""
        literal = policy.parse_address(host)
        try:
            found = [str(literal)] if literal is not None else await self._resolve(host, port)
        except OSError as exc:  # no such name
            raise httpcore.ConnectError(type(exc).__name__) from exc
        if not found:
            raise httpcore.ConnectError("no address")
        for text in found:
            address = policy.parse_address(text)
            if address is None:  # a resolver's answer that is no address: nothing to connect to
                raise Refused(policy.RESERVED)
            decision = policy.decide(address, self._allow_private)
            if not decision.allowed:
                raise Refused(decision.category)
        return found

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("unix socket")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PolicyTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on `PolicyBackend`."""

    def __init__(self, backend: PolicyBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        # httpx takes no network backend: the pool it just built is replaced by one with ours
        # (same settings); handle_async_request maps httpcore's errors to httpx's as ever.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def refusal(exc: BaseException) -> Refused | None:
    """The policy's refusal behind an error httpx raised, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Refused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
