"""A newcomer following only the README: `./scripts/run` on a fresh clone, then the README's
first curl, then its trigger command, with no 401. `scripts/run` runs from a copy of the
checkout's scripts, with the suite's .venv (its `scripts/setup` is already done)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess


@pytest.fixture
def clone(tmp_path: Path, repo_root: Path) -> Path:
    """A fresh clone as far as scripts/run can tell: no komoju.db, .venv set up."""
    checkout = tmp_path / "clone"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(repo_root / "scripts" / "run", checkout / "scripts" / "run")
    setup = checkout / "scripts" / "setup"
    setup.write_text("#!/bin/sh\nexit 0\n")
    setup.chmod(0o755)
    (checkout / ".venv").symlink_to(repo_root / ".venv")
    return checkout


def plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KOMOJU_")}


def run_script(checkout: Path, *args: str) -> ServerProcess:
    process = subprocess.Popen(
        [str(checkout / "scripts" / "run"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=plain_env(),
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.startswith("listening on http://127.0.0.1:"), first + process.stdout.read()
    server = ServerProcess(process, first.removeprefix("listening on "), "", "", "")
    threading.Thread(target=server._drain, daemon=True).start()
    server.wait_healthy()
    return server


def readme_commands(repo_root: Path) -> tuple[str, str]:
    """The README's first curl (a shell block) and its trigger command (inline code)."""
    readme = (repo_root / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    curl = next(block for block in blocks if block.startswith("curl -u"))
    trigger = re.search(r"`(komoju-server trigger konbini-paid\s+--secret-key \S+)`", readme)
    assert trigger, "the README's trigger example"
    return curl, " ".join(trigger.group(1).split())


def merchant_keys(checkout: Path) -> list[str]:
    out = subprocess.run(
        [str(checkout / ".venv" / "bin" / "komoju-server"), "merchants", "list", "--json"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
        env=plain_env(),
    )
    return [m["test_secret_key"] for m in json.loads(out.stdout)]


def test_the_readme_examples_work_on_a_fresh_clone(clone: Path, repo_root: Path):
    curl, trigger = readme_commands(repo_root)
    assert "http://127.0.0.1:8080" in curl
    server = run_script(clone)
    try:
        assert "  test secret key: sk_test_123456\n" in server.output  # the banner says so too
        out = subprocess.run(
            ["bash", "-c", curl.replace("http://127.0.0.1:8080", server.url)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        payment = json.loads(out.stdout)
        assert (payment["resource"], payment["status"], payment["payment_details"]["type"]) == (
            "payment",
            "authorized",
            "konbini",
        )
        played = subprocess.run(
            ["bash", "-c", trigger.replace("komoju-server", str(clone / ".venv" / "bin" / "komoju-server"))],
            capture_output=True,
            text=True,
            timeout=120,
            env={**plain_env(), "KOMOJU_URL": server.url},
        )
        assert played.returncode == 0, played.stderr
        slip = httpx.get(f"{server.url}/api/v1/payments", auth=("sk_test_123456", "")).json()["data"][0]
        assert (slip["status"], slip["payment_details"]["type"]) == ("captured", "konbini")
    finally:
        assert server.stop() == 0
    assert (clone / "komoju.db").exists()

    # The database exists now: it keeps its merchant, and scripts/run adds no keys.
    again = run_script(clone)
    try:
        assert "  test secret key: sk_test_123456\n" in again.output
    finally:
        again.stop()
    assert merchant_keys(clone) == ["sk_test_123456"]


def test_keys_given_to_scripts_run_are_the_ones_used(clone: Path):
    server = run_script(clone, "--secret-key", "sk_test_mine")
    server.stop()
    assert merchant_keys(clone) == ["sk_test_mine"]
