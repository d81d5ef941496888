"""A PostgreSQL cluster of one test's own, which the test may restart or stop: the suite's
shared cluster (scripts/postgres) must never be restarted under the other tests.

Debian's server binaries, as scripts/postgres finds them (KOMOJU_PG_BINDIR, else the newest
/usr/lib/postgresql/*/bin), `initdb` into a temporary folder, 127.0.0.1 only, a free port, a
random password, no Unix socket. As root the cluster runs as `nobody` (initdb and postgres
refuse root), in a folder `nobody` owns.

The benchmark (`bench/run --database postgresql`) uses one too, `durable`: with fsync and
full-page writes on, as in production, since what it measures is durable commits.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
"""
# Test data only: a crash of the machine may lose it.
FAST = """
fsync = off
full_page_writes = off
"""


def bindir() -> Path:
    if os.environ.get("KOMOJU_PG_BINDIR"):
        return Path(os.environ["KOMOJU_PG_BINDIR"])
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if all(os.access(f"{found}/{tool}", os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(found)
    raise RuntimeError("PostgreSQL's server binaries are missing (scripts/postgres install)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    def __init__(self, durable: bool = False) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="komoju-private-pg-"))
        self.data = self.root / "data"
        self.password = secrets.token_hex(16)
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "nobody")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C",
            "--auth=scram-sha-256", f"--pwfile={pwfile}",
        )  # fmt: skip
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(CONF if durable else CONF + FAST)

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, cpu: int | None = None) -> None:
        command = [str(self.bin / tool), *args]
        if cpu is not None:  # the server's processes inherit the core
            command = ["taskset", "-c", str(cpu), *command]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd="/")

    def start(self, cpu: int | None = None) -> None:
        log = self.root / "log"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "-o", f"-p {self.port}", "start", cpu=cpu
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)
