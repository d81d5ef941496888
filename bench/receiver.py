"""A webhook receiver fast enough not to be what a delivery benchmark measures.

`python bench/receiver.py --port 0` prints `listening on http://HOST:PORT` first, like the
server, and answers:

    GET  /health   200 (the harness waits for it)
    POST /hook     a delivery: 200 once the gate is open; held unanswered while it is closed
    POST /open     opens the gate (answers every held delivery) and notes the time
    POST /close    closes the gate and forgets the counts
    GET  /stats    {"answered": n, "held": k, "opened_at": t, "last_at": t} (time.monotonic())

One asyncio protocol per connection, HTTP/1.1 keep-alive, Content-Length bodies: what the
delivery worker sends, and nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class State:
    def __init__(self) -> None:
        self.open = True
        self.answered = 0
        self.opened_at: float | None = None
        self.last_at: float | None = None
        self.held: list[asyncio.Transport] = []

    def stats(self) -> bytes:
        body = {"answered": self.answered, "held": len(self.held), "opened_at": self.opened_at, "last_at": self.last_at}
        return json.dumps(body).encode()


def answer(body: bytes, content_type: bytes = b"application/json") -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: %s\r\n\r\n" % (len(body), content_type)
    return head + body


class Connection(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.handle(method, path)

    def handle(self, method: str, path: str) -> None:
        assert self.transport is not None
        state = self.state
        if path == "/hook":
            if state.open:
                self.transport.write(OK)
                state.answered += 1
                state.last_at = time.monotonic()
            else:
                state.held.append(self.transport)
        elif path == "/open":
            state.open = True
            state.opened_at = time.monotonic()
            held, state.held = state.held, []
            for transport in held:
                if not transport.is_closing():
                    transport.write(OK)
                    state.answered += 1
            state.last_at = time.monotonic()
            self.transport.write(answer(state.stats()))
        elif path == "/close":
            state.open = False
            state.answered = 0
            state.opened_at = state.last_at = None
            self.transport.write(answer(state.stats()))
        elif path == "/stats":
            self.transport.write(answer(state.stats()))
        else:  # /health and anything else
            self.transport.write(OK)


async def main(host: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    state = State()
    server = await asyncio.get_running_loop().create_server(lambda: Connection(state), sock=sock, backlog=1024)
    print(f"listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        pass
