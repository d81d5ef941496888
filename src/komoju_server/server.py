"""Running the server: bind, announce, prepare the database, then serve with uvicorn.

The first line printed is `listening on http://HOST:PORT` in every mode (`--quiet` and
`--log-format json` included), so that scripts starting the server with `--port 0` can read
the port. Then the start banner (the API's and the dashboard's URLs, the first merchant's test
keys), then the console's lines (console.py). SIGTERM lets in-flight requests finish, then
exits 0 (uvicorn's graceful shutdown).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from urllib.parse import urlsplit

import uvicorn

from komoju_server import __version__, limits
from komoju_server.config import Settings
from komoju_server.console import Banner, MerchantShown, console_for
from komoju_server.protocol import CONFIG_ATTRIBUTE, LimitedHttpToolsProtocol
from komoju_server.services import merchants
from komoju_server.store import open_store, sqlite_path
from komoju_server.store.sqlite import exposed_files
from komoju_server.store.vault import LazyVault, VaultKeyError, exposed_message

GRACEFUL_SECONDS = 20


def serve(settings: Settings) -> int:
    if settings.workers > 1 and settings.is_sqlite:
        print("error: --workers needs PostgreSQL; SQLite takes one server process", file=sys.stderr)
        return 2
    if settings.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if (problem := limits.check(settings.limits)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if settings.is_sqlite:
        for path, mode in exposed_files(sqlite_path(settings.database_url)):
            print(f"error: {exposed_message(path, mode)}", file=sys.stderr)
            return 1
    sock = _bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    listening = f"http://{_url_host(host)}:{port}"
    print(f"listening on {listening}", flush=True)
    vault = LazyVault(settings.vault_key, sqlite_path(settings.database_url) if settings.is_sqlite else None)
    try:  # a missing or unusable vault key stops every way of serving (workers too) before it serves
        vault.load()
    except VaultKeyError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    created, first = asyncio.run(_prepare(settings, vault))
    console = console_for(settings)
    console.banner(
        Banner(
            version=__version__,
            base_url=(settings.public_url or listening).rstrip("/"),
            workers=settings.workers,
            database=describe_database(settings.database_url),
            merchant=first,
            created=None if created is None else created.as_dict(),
        )
    )

    config_kwargs = dict(
        lifespan="on",
        log_level="warning",
        log_config=None,  # uvicorn's records go through our handler (configure_logging): text or JSON
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        loop="uvloop" if _has("uvloop") else "asyncio",
        # httptools (a dependency) with the limits uvicorn lacks: see protocol.py.
        http=LimitedHttpToolsProtocol,
        timeout_keep_alive=settings.limits.keep_alive_timeout,
        server_header=False,
        # URLs the API hands out come from --public-url or the Host header; X-Forwarded-* are
        # not trusted, which also spares every request a middleware layer.
        proxy_headers=False,
    )
    _exit_cleanly_on_signals()
    if settings.workers == 1:
        from komoju_server.api.app import served_app

        config = uvicorn.Config(served_app(settings, console), **config_kwargs)
        setattr(config, CONFIG_ATTRIBUTE, settings.limits)
        uvicorn.Server(config).run(sockets=[sock])
        return 0

    from uvicorn.supervisors import Multiprocess

    os.environ.update(settings.to_env())
    config = uvicorn.Config(
        "komoju_server.api.app:app_from_env", factory=True, workers=settings.workers, **config_kwargs
    )
    setattr(config, CONFIG_ATTRIBUTE, settings.limits)  # pickled with the Config into every worker
    Multiprocess(config, sockets=[sock]).run()
    return 0


def _exit_cleanly_on_signals() -> None:
    """uvicorn re-raises SIGTERM/SIGINT once it has shut down gracefully, under whatever handler
    was installed before it; a no-op one lets `serve` return and exit 0, as a drained stop should."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)


async def _prepare(settings: Settings, vault: LazyVault) -> tuple[merchants.MerchantKeys | None, MerchantShown | None]:
    """Migrates, makes sure of the test merchant; the merchant made now, if any, and the first one."""
    store = open_store(settings.database_url)
    await store.migrate()
    await store.open()
    try:
        created = await merchants.ensure_merchant(store, settings.secret_key, settings.publishable_key, vault=vault)
        first = await merchants.list_merchants(store, vault, limit=1)
    finally:
        await store.close()
    if not first:
        return created, None
    shown = first[0]
    return created, MerchantShown(
        shown.merchant_id, shown.name, shown.test_secret_key, shown.test_publishable_key, shown.note
    )


def describe_database(url: str) -> str:
    """The database for people: SQLite's file, or PostgreSQL's host and name (never a password)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return f"SQLite {os.path.abspath(sqlite_path(url))}"
    try:
        parts = urlsplit(url)
        where = f"{parts.hostname or 'localhost'}{f':{parts.port}' if parts.port else ''}{parts.path}"
    except ValueError:
        where = "(an unreadable URL)"
    return f"PostgreSQL {where}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
