"""`serve` keeps the SQLite database and the vault key private: a new database, its WAL and
shared memory and the key file are 0600 whatever the umask, and a server whose files group or
others may open refuses to start, with one line naming the file and the command that fixes it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ServerProcess, server_env

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}


def _serve(database: Path) -> subprocess.CompletedProcess[str]:
    url = f"sqlite:///{database}"
    return subprocess.run(
        [sys.executable, "-m", "komoju_server", "serve", "--port", "0", "--database-url", url, "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(url, {"KOMOJU_VAULT_KEY": ""}),
    )


@pytest.fixture()
def made(tmp_path: Path) -> Path:
    """A database the server made and wrote to (a customer's card in the vault), then stopped."""
    database = tmp_path / "komoju.db"
    old = os.umask(0)  # the server's own doing, not the test's umask
    try:
        server = ServerProcess.start(f"sqlite:///{database}", env={"KOMOJU_VAULT_KEY": ""})
    finally:
        os.umask(old)
    try:
        with server.client(server.secret_key) as api:
            assert api.post("/customers", json={"payment_details": CARD}).status_code == 200
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert {"komoju.db", "komoju.db-wal", "komoju.db-shm", "komoju.db.vault-key"} <= set(modes)
        assert modes == {name: 0o600 for name in modes}
    finally:
        assert server.stop() == 0
    return database


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", ".vault-key"])
def test_a_file_open_to_others_stops_serve_with_the_fix(made: Path, suffix: str):
    path = Path(f"{made}{suffix}")
    if not path.exists():  # SQLite removes the WAL and SHM at a clean close: as a restore might bring them back
        path.write_bytes(b"")
    os.chmod(path, 0o644)
    result = _serve(made)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == [f"error: {path} is open to group or others (mode 0644); make it private with: chmod 600 {path}"]
    os.chmod(path, 0o600)


def test_serve_starts_again_once_the_file_is_private(made: Path):
    os.chmod(made, 0o640)
    assert _serve(made).returncode == 1
    os.chmod(made, 0o600)
    server = ServerProcess.start(f"sqlite:///{made}", env={"KOMOJU_VAULT_KEY": ""})
    try:
        with server.client(server.secret_key) as api:
            assert api.get("/customers").json()["total"] == 1
    finally:
        server.stop()
