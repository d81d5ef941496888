"""The SQLite database's files are private: created 0600, whatever the umask, WAL and shared
memory included; and the ones group or others may open are named."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from komoju_server.store.sqlite import SqliteStore, exposed_files


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_its_wal_and_shm_are_0600_whatever_the_umask(tmp_path: Path):
    database = tmp_path / "komoju.db"
    store = SqliteStore(str(database))
    old = os.umask(0)
    try:

        async def run() -> None:
            await store.migrate()
            await store.open()  # the store keeps its connections open: the WAL and SHM stay
            try:
                assert {p.name for p in tmp_path.iterdir()} >= {"komoju.db", "komoju.db-wal", "komoju.db-shm"}
                modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
                assert modes == {name: 0o600 for name in modes}
            finally:
                await store.close()

        asyncio.run(run())
    finally:
        os.umask(old)
    assert exposed_files(str(database)) == []


def test_exposed_files_names_each_loosened_file_with_its_mode(tmp_path: Path):
    database = tmp_path / "komoju.db"
    for suffix, mode in (("", 0o644), ("-wal", 0o600), ("-shm", 0o620)):
        path = Path(f"{database}{suffix}")
        path.write_bytes(b"")
        os.chmod(path, mode)
    assert exposed_files(str(database)) == [(str(database), 0o644), (f"{database}-shm", 0o620)]


def test_in_memory_databases_have_no_files(tmp_path: Path):
    assert exposed_files(":memory:") == []
