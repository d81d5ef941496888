"""The command line in subprocesses: --version, --help everywhere, merchants list, and
rotate-keys against a running server (the old key answers 401 within the key ring's second)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import time
from typing import Any

import httpx

from komoju_server.cli import build_parser
from komoju_server.services.merchants import KEY_CACHE_SECONDS
from tests.support import ServerProcess, new_merchant, server_env

CLI = [sys.executable, "-m", "komoju_server"]


def cli(*args: str, database_url: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = [*CLI, *args]
    if database_url is not None:
        argv += ["--database-url", database_url]
    base = server_env(database_url) if database_url else None
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**(base or {}), **(env or {})} or None)


def listed(database_url: str) -> list[dict[str, Any]]:
    out = cli("merchants", "list", "--json", database_url=database_url)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_version_is_the_packages():
    out = cli("--version")
    assert out.returncode == 0
    assert out.stdout == f"komoju-server {importlib.metadata.version('komoju-server')}\n"


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_command_and_flag_says_what_it_does():
    parsers = _parsers(build_parser())
    progs = {prog for prog, _ in parsers}
    assert {
        "komoju-server",
        "komoju-server serve",
        "komoju-server migrate",
        "komoju-server merchants",
        "komoju-server merchants create",
        "komoju-server merchants list",
        "komoju-server merchants rotate-keys",
        "komoju-server trigger",
    } <= progs
    for prog, parser in parsers:
        assert parser.description, prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, (prog, choice.dest)
            else:
                assert action.help and len(action.help) > 10, (prog, action.option_strings or action.dest)


def test_help_runs_for_every_command():
    for args, says in (
        ([], "trigger"),
        (["serve"], "--log-format"),
        (["serve"], "--quiet"),
        (["merchants"], "rotate-keys"),
        (["merchants", "list"], "--json"),
        (["merchants", "rotate-keys"], "MERCHANT"),
        (["trigger"], "--list"),
    ):
        out = cli(*args, "--help")
        assert out.returncode == 0, out.stderr
        assert says in out.stdout, (args, out.stdout)


def test_merchants_list_shows_every_merchant_with_its_test_keys(database_url: str):
    first, second = new_merchant(database_url), new_merchant(database_url)
    created = [m["created_at"] for m in listed(database_url)]
    assert listed(database_url) == [
        {
            "id": made["merchant_id"],
            "name": "merchant",
            "created_at": when,
            "test_secret_key": made["test_secret_key"],
            "test_publishable_key": made["test_publishable_key"],
            "note": None,
        }
        for made, when in zip((first, second), created, strict=True)
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when) for when in created)
    out = cli("merchants", "list", database_url=database_url)
    assert out.returncode == 0
    assert out.stdout == "".join(
        f"merchant {made['merchant_id']} (merchant), created {when}\n"
        f"  test secret key: {made['test_secret_key']}\n"
        f"  test publishable key: {made['test_publishable_key']}\n"
        for made, when in zip((first, second), created, strict=True)
    )
    assert first["live_secret_key"] not in out.stdout  # live keys are shown once, when made


def test_merchants_commands_need_the_vault_key_on_postgres(postgres_url: str):
    for args in (["list"], ["create"], ["rotate-keys", "somemerchant"]):
        out = subprocess.run(
            [*CLI, "merchants", *args, "--database-url", postgres_url],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in server_env(postgres_url).items() if k != "KOMOJU_VAULT_KEY"},
        )
        assert out.returncode == 2, out
        assert "KOMOJU_VAULT_KEY is not set" in out.stderr


def test_rotate_keys_of_an_unknown_merchant(sqlite_url: str):
    new_merchant(sqlite_url)
    out = cli("merchants", "rotate-keys", "nosuchmerchant", database_url=sqlite_url)
    assert out.returncode == 1
    assert out.stderr == "error: no merchant 'nosuchmerchant' here; see komoju-server merchants list\n"


def status(server: ServerProcess, key: str) -> int:
    """A request on a new connection (with several processes, any of them may take it)."""
    return httpx.get(f"{server.url}/api/v1/payments", auth=(key, ""), timeout=30).status_code


def test_rotated_keys_stop_working_on_a_running_server(database_url: str):
    extra = ["--workers", "2"] if database_url.startswith("postgres") else []
    server = ServerProcess.start(
        database_url, secret_key="sk_test_before", publishable_key="pk_test_before", extra=extra
    )
    try:
        merchant_id = listed(database_url)[0]["id"]
        live_before = new_merchant(database_url)  # another merchant: its keys stay as they are
        for _ in range(20):  # every process has the old key in its cache
            assert status(server, "sk_test_before") == 200
        out = cli("merchants", "rotate-keys", merchant_id, database_url=database_url)
        rotated_at = time.monotonic()
        assert out.returncode == 0, out.stderr
        found = re.fullmatch(
            rf"merchant {merchant_id}: new test keys; the old ones no longer work\n"
            r"\(a running server stops taking them within 1 second\)\n"
            r"  test secret key: (sk_test_[a-z0-9]{32})\n"
            r"  test publishable key: (pk_test_[a-z0-9]{32})\n",
            out.stdout,
        )
        assert found, out.stdout
        new_secret, new_publishable = found.groups()
        while status(server, "sk_test_before") != 401:
            assert time.monotonic() - rotated_at < KEY_CACHE_SECONDS + 2, "the old key kept working"
            time.sleep(0.05)
        time.sleep(KEY_CACHE_SECONDS)  # every process's cache has run out by now
        for _ in range(20):
            assert status(server, "sk_test_before") == 401
            assert status(server, new_secret) == 200
        assert status(server, new_publishable) == 403  # a publishable key, as before
        assert status(server, live_before["test_secret_key"]) == 200
        assert listed(database_url)[0]["test_secret_key"] == new_secret
        # --mode all: the live keys too, printed once, as JSON here.
        out = cli("merchants", "rotate-keys", merchant_id, "--mode", "all", "--json", database_url=database_url)
        keys = json.loads(out.stdout)
        assert set(keys) == {
            "merchant_id",
            "test_secret_key",
            "test_publishable_key",
            "live_secret_key",
            "live_publishable_key",
        }
        assert keys["live_secret_key"].startswith("sk_live_")
        assert listed(database_url)[0]["test_secret_key"] == keys["test_secret_key"]
    finally:
        assert server.stop() == 0
