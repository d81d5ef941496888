"""Where a server's time goes during one measurement: CPU per thread, and py-spy samples.

`--profile NAME` samples the server while NAME is measured (that line's numbers are then a
little lower than unprofiled ones, and marked "profiled"). Two views, because each alone
misleads:

- CPU seconds per thread from /proc (exact): how much of the one core the event loop and
  the SQLite writer each used, and per request. What is left of the core was spent waiting
  (for fsync, or for requests).
- py-spy's collapsed stacks (`frame;frame;frame count`), summarised per thread by function,
  self and inclusive. py-spy counts a thread as busy while it waits for the GIL or for the
  core, so use it for the shares within a thread, and /proc for the split between threads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_SECOND = 250
# A frame as py-spy writes it: "function (path/to/file.py:line)".
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
_THREAD = re.compile(r"^thread \((?P<tid>\d+)\): (?P<name>.*)$")

CpuTimes = dict[int, float]  # thread id -> CPU seconds (user + system)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("bench: --profile needs py-spy (pip install -e '.[dev]')")
    return found


def cpu_times(pid: int) -> CpuTimes:
    """User + system CPU seconds of each thread of `pid` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: CpuTimes = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            # The command name (field 2) may hold spaces; the fields after its ")" do not.
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


class Sampling:
    """py-spy recording `pid` in the background, and the threads' CPU time around it."""

    def __init__(self, pid: int, seconds: float, output: Path, cpu: int | None, native: bool = False) -> None:
        self.pid = pid
        self.seconds = seconds
        self.output = output
        argv = [py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate"]
        argv += [str(SAMPLES_PER_SECOND), "--format", "raw", "--output", str(output), "--threads"]
        # --native shows the C underneath (SQLite, fsync, waiting for the GIL) but must pause the
        # server at each sample, which slows it down a lot; without it py-spy reads memory live.
        argv += ["--native", "--idle"] if native else ["--nonblocking"]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu), *argv]
        self._before = cpu_times(pid)
        self._recorder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish(self, requests: int) -> str:
        """Waits for py-spy and renders what it and /proc saw, per request of the run."""
        cpu = {tid: t - self._before.get(tid, 0.0) for tid, t in cpu_times(self.pid).items()}
        try:
            _, err = self._recorder.communicate(timeout=self.seconds + 60)
        except subprocess.TimeoutExpired:
            self._recorder.kill()
            _, err = self._recorder.communicate()
        if self._recorder.returncode != 0 or not self.output.exists():
            return f"py-spy failed ({self._recorder.returncode}): {err.strip()}"
        return render(summarise(self.output.read_text()), cpu, self.seconds, requests)


def short(frame: str) -> str:
    """`create (/x/site-packages/komoju_server/services/payments.py:95)` -> `services/payments.py:create`."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for anchor in ("komoju_server/", "site-packages/", "lib/python3"):
        if anchor in path:
            path = path.split(anchor, 1)[1]
            break
    return f"{path}:{match['func']}"


@dataclass(frozen=True)
class ThreadProfile:
    tid: int
    name: str
    samples: int
    self_samples: list[tuple[str, int]]
    inclusive: list[tuple[str, int]]


def summarise(collapsed: str) -> list[ThreadProfile]:
    """Per thread (most samples first): functions by self and by inclusive samples."""
    own: dict[tuple[int, str], Counter[str]] = {}
    under: dict[tuple[int, str], Counter[str]] = {}
    samples: Counter[tuple[int, str]] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = (0, "all threads")
        while frames and frames[0].startswith(("thread (", "process ")):
            match = _THREAD.match(frames[0])
            if match:
                thread = (int(match["tid"]), match["name"])
            frames = frames[1:]
        names = [short(f) for f in frames]
        if not names:
            continue
        samples[thread] += count
        own.setdefault(thread, Counter())[names[-1]] += count
        for name in set(names):
            under.setdefault(thread, Counter())[name] += count
    return [
        ThreadProfile(key[0], key[1], count, own[key].most_common(), under[key].most_common())
        for key, count in samples.most_common()
    ]


def render(threads: list[ThreadProfile], cpu: CpuTimes, seconds: float, requests: int, top: int = 20) -> str:
    lines = [f"CPU of the server's one core over {seconds:g} s, {requests} requests (/proc):"]
    names = {t.tid: t.name for t in threads}
    for tid, used in sorted(cpu.items(), key=lambda item: -item[1]):
        if used <= 0:
            continue
        per_request = f", {1e6 * used / requests:.0f} us per request" if requests else ""
        lines.append(f"  {names.get(tid, f'thread {tid}')}: {used:.2f} s ({100 * used / seconds:.0f}%){per_request}")
    idle = seconds - sum(cpu.values())
    lines.append(f"  idle or waiting: {max(0.0, idle):.2f} s ({max(0.0, 100 * idle / seconds):.0f}%)")
    lines.append(f"py-spy samples at {SAMPLES_PER_SECOND}/s, as a share of each thread's own samples:")
    for thread in threads:
        lines.append(f"{thread.name} ({thread.samples} samples):")
        # The frames with the most inclusive samples are the chain every request runs under
        # (runpy, cli.main, uvicorn's Server.run, Thread.run): left out, they say nothing.
        widest = thread.inclusive[0][1] if thread.inclusive else 0
        inclusive = [(name, count) for name, count in thread.inclusive if count < widest]
        for title, items in (("self", thread.self_samples), ("inclusive (below the outermost frames)", inclusive)):
            lines.append(f"  {title}:")
            lines += [f"    {100 * count / thread.samples:5.1f}%  {name}" for name, count in items[:top]]
    return "\n".join(lines)
