"""The vault key as the real server finds it: the key file beside a SQLite database, kept
across restarts; and clear refusals to start without a usable key."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.support import ServerProcess

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}
OTHER_KEY = "00" * 32


def start_failure(url: str, env: dict[str, str]) -> str:
    with pytest.raises(RuntimeError) as caught:
        ServerProcess.start(url, env=env)
    return str(caught.value)


def test_sqlite_keeps_its_key_file_across_restarts(tmp_path: Path):
    database = tmp_path / "kept.db"
    url = f"sqlite:///{database}"
    env = {"KOMOJU_VAULT_KEY": ""}
    server = ServerProcess.start(url, env=env)
    try:
        with server.client(server.secret_key) as api:
            token = api.post("/tokens", json={"payment_details": CARD}).json()["id"]
            customer = api.post("/customers", json={"payment_details": CARD}).json()["id"]
    finally:
        server.stop()
    key_file = tmp_path / "kept.db.vault-key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_bytes()

    server = ServerProcess.start(url, env=env)
    try:
        with server.client(server.secret_key) as api:
            for way in ({"payment_details": token}, {"customer": customer}):
                assert api.post("/payments", json={"amount": 1, "currency": "JPY", **way}).status_code == 200
    finally:
        server.stop()
    assert key_file.read_bytes() == key


def test_another_key_for_existing_details_refuses_to_start(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    server = ServerProcess.start(url, env={"KOMOJU_VAULT_KEY": ""})
    try:
        with server.client(server.secret_key) as api:
            assert api.post("/customers", json={"payment_details": CARD}).status_code == 200
    finally:
        server.stop()
    output = start_failure(url, {"KOMOJU_VAULT_KEY": OTHER_KEY})
    assert "the vault key does not open the payment details already stored in this database (customers)" in output


def test_postgres_without_a_key_refuses_to_start(postgres_url: str):
    output = start_failure(postgres_url, {"KOMOJU_VAULT_KEY": ""})
    assert re.search(r"^error: KOMOJU_VAULT_KEY is not set: with PostgreSQL", output, re.M), output


def test_a_malformed_key_refuses_to_start(tmp_path: Path):
    output = start_failure(f"sqlite:///{tmp_path / 'bad.db'}", {"KOMOJU_VAULT_KEY": "hunter2"})
    expected = "error: KOMOJU_VAULT_KEY must be a 32-byte key written as 64 hex digits or as base64 (44 characters)"
    assert expected in output
    assert "hunter2" not in output  # the key itself is never printed
    assert not (tmp_path / "bad.db.vault-key").exists()
