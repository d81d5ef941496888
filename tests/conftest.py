"""The suite's shared parts: servers on SQLite and PostgreSQL, merchants, and clients.

Two tiers of API tests:

- `server` (and `api`, `merchant`, `merchant_api`): the API served in this process
  (`tests/inprocess.py`): the ASGI app with its Runtime started on an event loop of its own,
  spoken to through an in-memory transport. One per backend per session; every test that
  takes it runs once on SQLite and once on PostgreSQL.
- `real_server`: a real `komoju-server serve` process spoken to over real HTTP on
  127.0.0.1, one per backend per session, for tests where the process itself matters
  (tests/e2e). Tests that need their own process start a `ServerProcess` themselves.

PostgreSQL databases are made on the suite's own throwaway cluster (`tests.support.pg_admin_url`:
the one scripts/test starts, or that `scripts/postgres` starts when pytest is run directly).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.inprocess import InProcessServer
from tests.support import ServerProcess, create_database, drop_database

BACKENDS = ("sqlite", "postgres")


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


def _session_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tier: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(f'{tier}-sqlite') / 'komoju.db'}"
    name = f"komoju_test_{tier}_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(name)
    request.addfinalizer(lambda: drop_database(name))
    return url


def _test_keys() -> dict[str, str]:
    return {"secret_key": "sk_test_" + secrets.token_hex(16), "publishable_key": "pk_test_" + secrets.token_hex(16)}


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The API served in this process, with a test merchant (`secret_key`, `publishable_key`)."""
    url = _session_database(request, tmp_path_factory, "inprocess")
    app = InProcessServer.start(url, **_test_keys())
    yield app
    app.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def real_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real `komoju-server serve` process, with a test merchant (`secret_key`, `publishable_key`)."""
    url = _session_database(request, tmp_path_factory, "process")
    proc = ServerProcess.start(url, **_test_keys())
    yield proc
    proc.stop()


@pytest.fixture
def backend(server: InProcessServer) -> str:
    return "postgres" if server.database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def api(server: InProcessServer) -> Iterator[httpx.Client]:
    """A client of /api/v1 with the test merchant's secret key."""
    with server.client(server.secret_key) as client:
        yield client


@pytest.fixture
def merchant(server: InProcessServer) -> dict[str, str]:
    """A fresh merchant of its own (empty lists, its own clock), made through the service layer.

    (tests/e2e/test_server.py makes merchants with the real CLI.)"""
    return server.new_merchant()


@pytest.fixture
def merchant_api(server: InProcessServer, merchant: dict[str, str]) -> Iterator[httpx.Client]:
    with server.client(merchant["test_secret_key"]) as client:
        yield client


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
