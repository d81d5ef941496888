"""Driving wrk: the Lua script for one endpoint, running it pinned to a core, reading its result.

wrk reports latency percentiles only as rounded, unit-suffixed text; the `done()` hook the
harness appends to every script prints one machine-readable line instead:

    BENCH_RESULT {"requests": ..., "duration_us": ..., "p50_us": ..., "p99_us": ..., ...}
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH_RESULT "

# Appended to every script, after the endpoint's own Lua, so that it always wins.
DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    "MARKER", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
""".replace("MARKER", MARKER)


@dataclass(frozen=True)
class WrkRun:
    """What wrk measured for one endpoint."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write errors and timeouts
    status_errors: int  # answers outside 2xx/3xx

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors


def lua_string(text: str) -> str:
    """A Lua long-bracket literal for any text: nothing inside it is an escape."""
    level = 0
    while "]" + "=" * level + "]" in text:
        level += 1
    # Lua drops a newline right after the opening bracket; a leading one must be doubled.
    return "[" + "=" * level + "[" + ("\n" if text.startswith("\n") else "") + text + "]" + "=" * level + "]"


def render_script(method: str, headers: dict[str, str], body: str | None, extra_lua: str = "") -> str:
    """A wrk script sending the same request every time, then `extra_lua`, then the done hook."""
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n" + extra_lua + "\n" + DONE_HOOK


def parse_output(text: str) -> WrkRun:
    """The run described by wrk's output (the line the done hook printed)."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError("wrk printed no result line; its output was:\n" + text)
    return WrkRun(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        status_errors=data["status_errors"],
    )


def command(url: str, script: Path, seconds: float, connections: int, threads: int, cpu: int | None) -> list[str]:
    wrk = shutil.which("wrk") or "wrk"
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(script), url]
    return (["taskset", "-c", str(cpu)] if cpu is not None else []) + argv


def run(url: str, script: Path, seconds: float, connections: int, threads: int, cpu: int | None) -> WrkRun:
    if not url.startswith(("http://127.0.0.1:", "http://[::1]:")):
        raise ValueError(f"the harness only loads this machine: {url}")
    argv = command(url, script, seconds, connections, threads, cpu)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    # wrk reports a broken script on stderr and then runs without it, exiting 0.
    if done.returncode != 0 or done.stderr.strip():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_output(done.stdout)
