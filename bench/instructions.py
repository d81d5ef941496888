"""`python -m bench.instructions`: what one request costs in instructions, the server's and the
baseline's, counted by callgrind.

bench/run measures requests per second, and on a shared machine those move by a fifth from one
minute to the next: a step that saves 3% cannot be seen there. This counts instructions
instead, which repeat within 1-3% for the same code. It sends bench/run's
requests (the card payment form, one payment, the first page of the list) straight to the ASGI
application in this process, 32 at a time: the server as `serve` builds it (its console
lines written to /dev/null) and the baseline app of bench/baseline.py, each on a fresh SQLite
file. Every thread is counted (the SQLite writer and the console's included). Each line runs
twice under `valgrind --tool=callgrind`, with FEW and with MANY requests after the same
start-up and warm-up; the difference over MANY - FEW is one request. The two runs of a line
run side by side, one per core.

Left out, so that the count is the application's own: uvicorn and the sockets, the kernel
(fsync above all), and how long an instruction takes (cache misses). Work on a timer (the
recent-requests log written every second, the scheduler's polls) is counted over the
requests of that second, far fewer under valgrind: up to about 10k instructions a request. The ratio printed is the
baseline's count over the server's, as bench/run's "req/s vs baseline" is the server's rate
over the baseline's: both say what share of the baseline's speed the server would reach if
instructions were all that mattered.

    .venv/bin/python -m bench.instructions                 # every line, about 6 minutes
    .venv/bin/python -m bench.instructions --only POST     # lines whose name contains POST
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.results import markdown
from bench.scenarios import PAYMENT_FORM, PUBLISHABLE_KEY, SECRET_KEY

FEW, MANY = 320, 1600
SEEDED = 100  # payments made before anything is counted: full list pages, an id to show
WARM_UP = 320  # requests of the line's own kind before counting starts
CONCURRENCY = 32  # as bench/run's wrk connections

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Line:
    name: str
    method: str
    paths: dict[str, str]  # by target; `{id}` is a seeded payment's id


CREATE = {"server": "/api/v1/payments", "baseline": "/payments"}  # where a payment is made
EDGE = "/api/v1/bench/edge"  # the server's edge alone: see `Edge`
LINES = (
    Line("POST /api/v1/payments", "POST", CREATE),
    Line("GET /api/v1/payments/:id", "GET", {"server": "/api/v1/payments/{id}", "baseline": "/payments/{id}"}),
    Line("GET /api/v1/payments", "GET", {"server": "/api/v1/payments", "baseline": "/payments"}),
    # Not goals: what a payment's request costs around its handler, so that its count can be
    # read as the edge's plus the payment's own. The baseline has no edge to compare them with.
    Line("POST /api/v1 edge: the payment form read, nothing done", "POST", {"server": EDGE}),
    Line("GET /api/v1 edge: nothing done", "GET", {"server": EDGE}),
)
TARGETS = ("server", "baseline")


# -- the counted process ---------------------------------------------------------------------


class Client:
    """Requests straight to an ASGI app: one scope, one body, the answer's status and body."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._auth = b"Basic " + base64.b64encode(SECRET_KEY.encode() + b":")

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        headers = [(b"host", b"127.0.0.1"), (b"authorization", self._auth)]
        if body:
            headers += [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
        }
        answer: dict[str, Any] = {}
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:  # nothing more will come: as a connection that stays open
                await asyncio.Event().wait()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] = answer.get("body", b"") + message.get("body", b"")

        await self._app(scope, receive, send)
        return answer["status"], answer.get("body", b"")


async def start(app: App) -> Callable[[], Awaitable[None]]:
    """Starts the app's lifespan, as uvicorn does; returns what stops it."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


async def server_app(directory: Path) -> App:
    """The server as `serve` builds it, on a fresh SQLite file, its console to /dev/null."""
    from komoju_server.api.access import AccessLog
    from komoju_server.api.app import served_app
    from komoju_server.config import Settings
    from komoju_server.console import LineWriter, TextConsole
    from komoju_server.services import merchants
    from komoju_server.store import open_store, sqlite_path
    from komoju_server.store.vault import LazyVault

    url = f"sqlite:///{directory / 'komoju.db'}"
    settings = Settings(database_url=url, secret_key=SECRET_KEY, publishable_key=PUBLISHABLE_KEY)
    vault = LazyVault(None, sqlite_path(url))
    vault.load()
    store = open_store(url)  # what `serve` does before it serves (server.py)
    await store.migrate()
    await store.open()
    try:
        await merchants.ensure_merchant(store, SECRET_KEY, PUBLISHABLE_KEY, vault=vault)
    finally:
        await store.close()
    console = TextConsole(LineWriter(os.open(os.devnull, os.O_WRONLY)))
    served = served_app(settings, console)
    routes = served.app if isinstance(served, AccessLog) else served
    edge = Edge()
    routes.add("GET", EDGE, edge.get)  # type: ignore[attr-defined]
    routes.add("POST", EDGE, edge.post)  # type: ignore[attr-defined]
    return served


class Edge:
    """A direct route under /api/v1 (api/direct.py, as the payments' routes are) that answers
    `{}` (a POST after reading its form): everything a payment's request goes through (the
    connection's ASGI layers, the request's steps, the API key, the console's line) and no work
    of its own."""

    async def get(self, call: Any) -> tuple[Any, int]:
        return {}, 200

    async def post(self, call: Any) -> tuple[Any, int]:
        await call.body()
        return {}, 200


def baseline_app(directory: Path) -> App:
    from bench.baseline import Baseline

    return Baseline(str(directory / "baseline.db"), None, SECRET_KEY)


async def drive(target: str, line: Line, requests: int, seeded: int = SEEDED, warm_up: int = WARM_UP) -> None:
    """Start-up, seed, warm-up, then `requests` requests of `line`, 32 at a time; raises
    unless every answer is 200."""
    directory = Path(tempfile.mkdtemp(prefix="komoju-instructions-"))
    try:
        app = await server_app(directory) if target == "server" else baseline_app(directory)
        client = Client(app)
        stop = await start(app)
        form = PAYMENT_FORM.encode()
        payment_id = ""
        for _ in range(seeded):
            status, answer = await client.request("POST", CREATE[target], form)
            if status != 200:
                raise RuntimeError(f"seeding failed: {status} {answer[:300]!r}")
            payment_id = orjson.loads(answer)["id"]
        path = line.paths[target].format(id=payment_id)
        body = form if line.method == "POST" else b""

        async def send(count: int) -> None:
            for first in range(0, count, CONCURRENCY):
                sent = [client.request(line.method, path, body) for _ in range(min(CONCURRENCY, count - first))]
                for status, answer in await asyncio.gather(*sent):
                    if status != 200:
                        raise RuntimeError(f"{line.name}: {status} {answer[:300]!r}")

        await send(warm_up)
        await send(requests)
        await stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- counting --------------------------------------------------------------------------------

_COLLECTED = re.compile(r"Collected : ([\d,]+)")


def collected(valgrind_output: str) -> int:
    """The instructions callgrind counted, from what it prints at exit."""
    found = _COLLECTED.search(valgrind_output)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{valgrind_output[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_request(few: int, many: int) -> float:
    """One request's instructions: what MANY requests cost beyond FEW, over MANY - FEW."""
    return (many - few) / (MANY - FEW)


def command(target: str, line: Line, requests: int) -> list[str]:
    return [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--drive",
        target,
        line.name,
        str(requests),
    ]


def count(target: str, line: Line) -> float:
    """`line`'s instructions per request on `target`: its two runs side by side."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    runs = [
        subprocess.Popen(command(target, line, n), cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for n in (FEW, MANY)
    ]
    outputs = [run.communicate()[0].decode(errors="replace") for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        if run.returncode != 0:
            raise RuntimeError(f"{line.name} on the {target} failed:\n{output[-3000:]}")
    return per_request(collected(outputs[0]), collected(outputs[1]))


def table(counts: dict[str, dict[str, float]]) -> str:
    rows = [["line", "server instructions/request", "baseline instructions/request", "baseline / server"]]
    for name, found in counts.items():
        server, baseline = found.get("server"), found.get("baseline")
        ratio = f"{baseline / server:.2f} x" if server and baseline else "-"
        rows.append([name, _number(server), _number(baseline), ratio])
    return markdown(rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="TEXT", help="lines whose name contains TEXT")
    parser.add_argument("--no-baseline", action="store_true", help="count the server only")
    parser.add_argument("--drive", nargs=3, metavar=("TARGET", "LINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:  # the counted process
        target, name, requests = args.drive
        line = next(line for line in LINES if line.name == name)
        asyncio.run(drive(target, line, int(requests)))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions: needs valgrind (apt-get install valgrind)")
    lines = [line for line in LINES if not args.only or any(text in line.name for text in args.only)]
    if not lines:
        raise SystemExit(f"bench.instructions: no line matches {args.only}")
    targets = ("server",) if args.no_baseline else TARGETS
    counts: dict[str, dict[str, float]] = {}
    for line in lines:
        for target in (target for target in targets if target in line.paths):
            print(f"bench.instructions: {line.name} on the {target} ...", end=" ", flush=True)
            counts.setdefault(line.name, {})[target] = found = count(target, line)
            print(f"{found:,.0f} instructions a request", flush=True)
    print()
    print(table(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
