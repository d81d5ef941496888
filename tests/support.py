"""Starting real server processes and databases for the tests (tests/inprocess.py serves the
API without a process)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from komoju_server.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
# PostgreSQL servers need a vault key (SQLite ones make a key file); the tests share this one.
TEST_VAULT_KEY = "a2/ObPJ+M6U4rBWDwgs0sFw7+2FrEI2JW3FxZJ7Hf2Y="

# The types of KOMOJU's current reference that take no field of their own (wallets, redirects
# and cash references), by a currency each accepts: the tables of the token and hosted-page tests.
NO_FIELD_TYPES_BY_CURRENCY: dict[str, tuple[str, ...]] = {
    "JPY": ("paypay", "rakutenpay", "aupay", "linepay", "epospay", "komoju_pay", "docomo", "au", "softbank"),
    "KRW": ("kakaopay", "naverpay", "payco"),
    "CNY": ("alipay", "wechatpay", "unionpay"),
    "HKD": ("alipay_hk",),
    "IDR": ("dana", "ovo", "doku_wallet"),
    "PHP": ("gcash", "dragonpay"),
    "MYR": ("grabpayotp", "tng", "fpx"),
    "SGD": ("enets",),
    "THB": ("truemoney",),
    "EUR": ("ideal", "bancontact", "eps", "giropay", "sofortbanking", "mybank", "paysera", "przelewy24"),
    "PLN": ("payu", "blik"),
    "AUD": ("poli",),
}


@functools.cache
def pg_admin_url() -> str:
    """The PostgreSQL server the tests make their databases on, as a superuser's URL.

    `KOMOJU_TEST_PG_URL` when set: scripts/test sets it to the suite's own throwaway cluster
    (or leaves the one a developer set). Otherwise (pytest run directly) that cluster, started,
    or made first, by `scripts/postgres`, and left running for the next run. Never a
    PostgreSQL the machine runs of its own: the suite neither needs nor changes one."""
    url = os.environ.get("KOMOJU_TEST_PG_URL")
    if url:
        return url
    script = REPO / "scripts" / "postgres"
    done = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{script} could not start the suite's PostgreSQL:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def _pg_url(database: str) -> str:
    base = pg_admin_url().rsplit("/", 1)[0]
    return f"{base}/{database}"


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(pg_admin_url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def with_store(database_url: str, scenario: Callable[[Store], Awaitable[None]]) -> None:
    """Runs `scenario` against a migrated, open store of `database_url`, then closes it."""

    async def main() -> None:
        store = open_store(database_url)
        await store.migrate()
        await store.open()
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def new_merchant(database_url: str) -> dict[str, str]:
    """A merchant made by the real CLI: its id and its four keys (its test keys kept sealed by
    the vault, so the CLI needs the server's vault key: PostgreSQL's from the environment)."""
    out = subprocess.run(
        [sys.executable, "-m", "komoju_server", "merchants", "create", "--json", "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(database_url),
    )
    return json.loads(out.stdout)


def create_database(name: str) -> str:
    _admin(f'CREATE DATABASE "{name}"')
    return _pg_url(name)


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a server process: ours, then `extra`; on PostgreSQL a test vault key
    unless one is given (on SQLite the server keeps its own key file)."""
    base = {"KOMOJU_VAULT_KEY": TEST_VAULT_KEY} if database_url.startswith("postgres") else {}
    return {**base, **os.environ, **(extra or {})}


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    url: str
    database_url: str
    secret_key: str
    publishable_key: str
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        database_url: str,
        secret_key: str = "sk_test_suite",
        publishable_key: str = "pk_test_suite",
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "komoju_server",
            "serve",
            "--port",
            "0",
            "--database-url",
            database_url,
            "--secret-key",
            secret_key,
            "--publishable-key",
            publishable_key,
            *extra,
        ]
        process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=server_env(database_url, env)
        )
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("listening on "):
            rest = process.stdout.read() if process.poll() is not None else ""
            process.kill()
            raise RuntimeError(f"server did not start: {first}\n{rest}")
        server = cls(process, first.removeprefix("listening on "), database_url, secret_key, publishable_key)
        threading.Thread(target=server._drain, daemon=True).start()
        server.wait_healthy()
        return server

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def wait_healthy(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + "".join(self.output))
            time.sleep(0.05)
        raise RuntimeError("server never became healthy:\n" + "".join(self.output))

    def client(self, key: str | None, **kwargs: Any) -> httpx.Client:
        """A client of /api/v1 (or of `base_url`) with `key` as its Basic user name."""
        kwargs.setdefault("auth", (key, "") if key else None)
        kwargs.setdefault("base_url", self.url + "/api/v1")
        return httpx.Client(timeout=30, **kwargs)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
