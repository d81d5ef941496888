"""The webhook worker's connections on asyncio's transports (webhooks/streams.py), against real
receivers on 127.0.0.1: TLS with the receiver's name checked, a kept-alive connection the
receiver closed is not used again, an endless answer is read as the worker asks for it (and
no faster), and a receiver that does not answer or is not there fails as httpcore says."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from komoju_server.webhooks import connect
from komoju_server.webhooks.streams import BUFFERED, AsyncioBackend

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name `localhost` (and no other), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request on the connection `200 ok`, keeping it alive."""
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def resolver(host: str) -> connect.Resolver:
    async def resolve(name: str, port: int) -> list[str]:
        assert name == host
        return ["127.0.0.1"]

    return resolve


def client(host: str, tls: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    backend = connect.PolicyBackend(True, resolver(host))  # only 127.0.0.1 here
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    transport = connect.PolicyTransport(backend, tls or ssl.create_default_context(), limits)
    return httpx.AsyncClient(transport=transport)


def test_tls_to_a_receiver_whose_certificate_names_it(tmp_path: Path):
    cert_file, key_file = certificate(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))

    async def scenario() -> None:
        connections = 0

        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            await answering(reader, writer)

        server = await asyncio.start_server(counted, "127.0.0.1", 0, ssl=served)
        port = server.sockets[0].getsockname()[1]
        try:
            async with client("localhost", trusting) as http:
                for _ in range(3):  # one connection, kept alive
                    answer = await http.post(f"https://localhost:{port}/hook", content=b"{}")
                    assert (answer.status_code, answer.text) == (200, "ok")
            assert connections == 1
            # The same receiver under a name its certificate does not give: refused.
            async with client("shop.test", trusting) as http:
                with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                    await http.post(f"https://shop.test:{port}/hook", content=b"{}")
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_a_kept_alive_connection_the_receiver_closed_is_not_used_again():
    async def scenario() -> None:
        connections = 0

        async def answers_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)  # no `Connection: close`: the client keeps it for the next
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answers_once, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with client("receiver.test") as http:
                for _ in range(3):
                    answer = await http.post(f"http://receiver.test:{port}/hook", content=b"{}")
                    assert answer.status_code == 200
                    await asyncio.sleep(0.05)  # the receiver's close arrives
            assert connections == 3
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_an_endless_answer_is_read_no_faster_than_asked():
    total = 32 * 1024 * 1024
    chunk = b"x" * (1024 * 1024)

    async def scenario() -> None:
        sent: list[asyncio.StreamWriter] = []

        async def floods(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sent.append(writer)
            for _ in range(total // len(chunk)):
                writer.write(chunk)  # not drained: what the client does not read stays here

        server = await asyncio.start_server(floods, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await asyncio.sleep(0.5)
            # The client stopped reading at BUFFERED: most of the answer still waits at the receiver.
            assert sent[0].transport.get_write_buffer_size() > total // 2
            first = await stream.read(BUFFERED, timeout=5)
            received = len(first)
            while received < total:
                received += len(await stream.read(BUFFERED, timeout=5))
            assert received == total
            await stream.aclose()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_a_receiver_that_does_not_answer_times_out_and_one_not_there_cannot_be_connected():
    async def scenario() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client goes

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await stream.write(b"POST /hook HTTP/1.1\r\n\r\n", timeout=5)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(1024, timeout=0.1)
            await stream.aclose()
        finally:
            server.close()
            await server.wait_closed()
        with pytest.raises(httpcore.ConnectError):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)  # closed just now

    asyncio.run(scenario())


def test_addresses_are_told_as_httpcore_asks():
    async def scenario() -> None:
        server = await asyncio.start_server(answering, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            assert ipaddress.ip_address(stream.get_extra_info("client_addr")[0]).is_loopback
            assert stream.get_extra_info("ssl_object") is None
            assert stream.get_extra_info("is_readable") is False
            await stream.aclose()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
