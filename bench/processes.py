"""The processes a benchmark needs: wrk on the machine, and servers pinned to a core."""

from __future__ import annotations

import base64
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_SECONDS = 30


def ensure_wrk(install: bool = True) -> str:
    """The path of wrk, installed from Debian's packages when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if not install:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk), and --no-install was given")
    if not shutil.which("apt-get"):
        raise SystemExit("bench: wrk is not installed and there is no apt-get here; install wrk by hand")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("bench: installing wrk from Debian's packages", file=sys.stderr, flush=True)
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: apt-get finished but wrk is still not on PATH")
    return found


def pinned(argv: Sequence[str], cpu: int | None) -> list[str]:
    return (["taskset", "-c", str(cpu)] if cpu is not None else []) + list(argv)


def basic_auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass
class Server:
    """A server process that prints `listening on http://HOST:PORT` first, like `komoju-server serve`."""

    name: str
    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], cpu: int | None, cwd: str | None = None, health: str = "/health"
    ) -> Server:
        # A process group of its own, so that stopping it stops every process it forked too.
        process = subprocess.Popen(
            pinned(argv, cpu),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            start_new_session=True,
        )
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("listening on http://"):
            process.kill()
            rest = process.stdout.read()
            raise RuntimeError(f"{name} did not start: {first}\n{rest}")
        server = cls(name, process, first.removeprefix("listening on "))
        threading.Thread(target=server._drain, daemon=True).start()
        server._wait_healthy(health)
        return server

    @property
    def pid(self) -> int:
        return self.process.pid

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def _wait_healthy(self, health: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n" + "".join(self.output))
            try:
                with urllib.request.urlopen(self.url + health, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} never became healthy:\n" + "".join(self.output))

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds; then SIGKILL to whatever of its
        process group is left. A baseline with --workers 2 whose first process was killed
        after a shutdown that hung left its other worker running, an orphan that went on
        using the cores of every later measurement."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # nothing of the group is left
            pass
        return self.process.returncode


def request(
    url: str, method: str = "GET", body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request with the standard library; any HTTP status comes back, not raised."""
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _busy_seconds() -> float:
    """CPU seconds all cores spent running processes since boot, and stolen by the hypervisor.

    Interrupt time is left out: it belongs to no process, and most of it is our own loopback
    traffic. Guest time is already inside user time."""
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(roots: Sequence[int]) -> float:
    """CPU seconds of the processes `roots` and all their descendants (a server's workers, a
    PostgreSQL cluster's backends)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    ours = set(roots)
    grown = True
    while grown:
        found = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= found
        grown = bool(found)
    return sum(process_cpu(pid) for pid in ours)


class Others:
    """How many cores processes other than ours (the server's processes and those of `also`,
    wrk, py-spy, this harness) used between `Others(pid)` and `cores()`: the machine's busy
    time minus our own."""

    def __init__(self, server_pid: int | None = None, also: Sequence[int] = ()) -> None:
        self._roots = ([server_pid] if server_pid is not None else []) + list(also)
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        ours = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk and py-spy, once waited for
        own = ours.ru_utime + ours.ru_stime + children.ru_utime + children.ru_stime
        server = tree_cpu(self._roots) if self._roots else 0.0
        return _busy_seconds(), own + server, time.monotonic()

    def cores(self) -> float:
        busy0, own0, t0 = self._start
        busy1, own1, t1 = self._snapshot()
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / max(1e-9, t1 - t0)


def background_cpu(seconds: float = 1.0, server_pid: int | None = None, also: Sequence[int] = ()) -> float:
    """How many cores other processes use, over `seconds` (the server's own CPU left out)."""
    others = Others(server_pid, also)
    time.sleep(seconds)
    return others.cores()


def wait_quiet(limit: float, seconds: float) -> float:
    """Waits (at most `seconds`) for the machine to use less than `limit` cores; the last reading."""
    deadline = time.monotonic() + seconds
    load = background_cpu()
    while load >= limit and time.monotonic() < deadline:
        load = background_cpu()
    return load
