"""The suite's shared parts: real server processes on SQLite and PostgreSQL, and clients.

Every test that takes `api` (or `server`) runs once against a server on SQLite and once
against a server on PostgreSQL, each a real `komoju-server serve` process spoken to over
real HTTP.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PG_ADMIN_URL, ServerProcess, create_database, drop_database, new_merchant

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"komoju_test_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of the test's own."""
    name = f"komoju_test_{secrets.token_hex(5)}"
    yield create_database(name)
    drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'komoju.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the test's own: the test runs once on each backend."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'komoju.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    proc = ServerProcess.start(
        url, secret_key="sk_test_" + secrets.token_hex(16), publishable_key="pk_test_" + secrets.token_hex(16)
    )
    yield proc
    proc.stop()


@pytest.fixture
def backend(server: ServerProcess) -> str:
    return "postgres" if server.database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of /api/v1 with the test merchant's secret key."""
    with server.client(server.secret_key) as client:
        yield client


@pytest.fixture
def merchant(server: ServerProcess) -> dict[str, str]:
    """A fresh merchant of its own (empty lists, its own clock), made by the real CLI."""
    return new_merchant(server.database_url)


@pytest.fixture
def merchant_api(server: ServerProcess, merchant: dict[str, str]) -> Iterator[httpx.Client]:
    with server.client(merchant["test_secret_key"]) as client:
        yield client


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


__all__ = ["PG_ADMIN_URL"]
