"""The PostgreSQL of a `bench/run --database postgresql`: a durable cluster of the run's own
(fsync and full-page writes on, as in production; tests/e2e/private_postgres.py makes it), so
that the run neither needs nor changes a PostgreSQL the machine already has. Each server, the
baseline included, gets a fresh database on it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
from tests.e2e.private_postgres import PrivateCluster

ROOT = Path(__file__).resolve().parent.parent


class Postgres:
    def __init__(self, cpu: int | None) -> None:
        subprocess.run([str(ROOT / "scripts" / "postgres"), "install"], check=True)  # the server binaries
        self.cluster = PrivateCluster(durable=True)
        self.cluster.start(cpu)
        self._made = 0

    def database(self) -> str:
        """The URL of a new, empty database."""
        self._made += 1
        name = f"bench_{self._made}"
        asyncio.run(_create(self.cluster.url, name))
        return self.cluster.url.rsplit("/", 1)[0] + "/" + name

    def pids(self) -> tuple[int, ...]:
        """The cluster's postmaster (its backends are its children)."""
        return (int((self.cluster.data / "postmaster.pid").read_text().split()[0]),)

    def remove(self) -> None:
        self.cluster.remove()


async def _create(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
