"""The vault: AES-GCM sealing bound to a row, and where its key comes from."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from komoju_server.store.vault import (
    KEY_FILE_SUFFIX,
    LazyVault,
    Vault,
    VaultError,
    VaultKeyError,
    key_file_path,
    load_key,
    parse_key,
)

KEY = bytes(range(32))
DETAILS = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}


def test_round_trip():
    vault = Vault(KEY)
    sealed = vault.seal(DETAILS, "tokens", "tok_a")
    assert vault.open(sealed, "tokens", "tok_a") == DETAILS


def test_sealed_value_hides_the_details_and_never_repeats():
    vault = Vault(KEY)
    first = vault.seal(DETAILS, "tokens", "tok_a")
    second = vault.seal(DETAILS, "tokens", "tok_a")
    assert first != second  # a fresh nonce each time
    for blob in (first, second):
        assert b"4111111111111111" not in blob
        assert b"number" not in blob
        assert blob[:1] == b"\x01"


def test_no_two_seals_share_a_nonce_even_across_a_fork():
    """Nonces come from the pooled CSPRNG bytes of domain/ids.py: a forked worker must not
    take the bytes its parent takes next (AES-GCM under one key must never repeat a nonce)."""
    import os

    vault = Vault(KEY)
    vault.seal(DETAILS, "tokens", "tok_a")  # the pool now holds bytes the parent will use next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, b"".join(vault.seal(DETAILS, "tokens", "tok_a")[1:13] for _ in range(100)))
        os._exit(0)
    os.waitpid(pid, 0)
    data = os.read(read, 1 << 16)
    child = {data[i : i + 12] for i in range(0, len(data), 12)}
    parent = {vault.seal(DETAILS, "tokens", "tok_a")[1:13] for _ in range(2000)}
    assert len(child) == 100 and len(parent) == 2000 and not child & parent


def test_another_key_does_not_open():
    sealed = Vault(KEY).seal(DETAILS, "tokens", "tok_a")
    with pytest.raises(VaultError, match="does not open with this vault key"):
        Vault(bytes(32)).open(sealed, "tokens", "tok_a")


@pytest.mark.parametrize(("table", "row_id"), [("tokens", "tok_b"), ("customers", "tok_a")])
def test_a_value_moved_to_another_row_or_table_does_not_open(table, row_id):
    vault = Vault(KEY)
    sealed = vault.seal(DETAILS, "tokens", "tok_a")
    with pytest.raises(VaultError):
        vault.open(sealed, table, row_id)


def test_a_tampered_value_does_not_open():
    vault = Vault(KEY)
    sealed = bytearray(vault.seal(DETAILS, "tokens", "tok_a"))
    sealed[-1] ^= 1
    with pytest.raises(VaultError):
        vault.open(bytes(sealed), "tokens", "tok_a")


@pytest.mark.parametrize("blob", [b"", b"\x02" + bytes(40), b"\x01short"])
def test_garbage_is_not_a_vault_value(blob):
    with pytest.raises(VaultError, match="not a vault value"):
        Vault(KEY).open(blob, "tokens", "tok_a")


@pytest.mark.parametrize(
    "text",
    [
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.b64encode(KEY).decode().rstrip("="),
        base64.urlsafe_b64encode(KEY).decode(),
        f"  {KEY.hex()}\n",
    ],
)
def test_key_is_hex_or_base64_of_32_bytes(text):
    assert parse_key(text) == KEY


@pytest.mark.parametrize(
    "text", ["", "short", KEY.hex()[:-2], base64.b64encode(bytes(31)).decode(), base64.b64encode(bytes(33)).decode()]
)
def test_a_bad_key_names_the_variable_and_the_accepted_forms(text):
    with pytest.raises(VaultKeyError) as caught:
        parse_key(text)
    message = str(caught.value)
    assert message.startswith("KOMOJU_VAULT_KEY must be a 32-byte key written as 64 hex digits or as base64")


def test_the_configured_key_wins_over_the_key_file(tmp_path: Path):
    database = str(tmp_path / "k.db")
    assert load_key(KEY.hex(), database) == KEY
    assert not os.path.exists(key_file_path(database))


def test_postgres_without_a_key_is_refused():
    with pytest.raises(VaultKeyError, match="KOMOJU_VAULT_KEY is not set: with PostgreSQL"):
        load_key(None, None)


def test_sqlite_gets_a_private_key_file_reused_on_restart(tmp_path: Path):
    database = str(tmp_path / "k.db")
    first = load_key(None, database)
    path = database + KEY_FILE_SUFFIX
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) == 32
    assert load_key(None, database) == first
    assert parse_key(Path(path).read_text()) == first
    assert [p.name for p in tmp_path.iterdir()] == ["k.db.vault-key"]  # no temporary file left behind


def test_key_file_is_private_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        load_key(None, str(tmp_path / "k.db"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "k.db.vault-key").st_mode) == 0o600


def test_a_loosened_key_file_is_refused_with_the_command_that_fixes_it(tmp_path: Path):
    database = str(tmp_path / "k.db")
    first = load_key(None, database)
    path = database + KEY_FILE_SUFFIX
    os.chmod(path, 0o640)
    message = f"{path} is open to group or others (mode 0640); make it private with: chmod 600 {path}"
    with pytest.raises(VaultKeyError) as caught:
        load_key(None, database)
    assert str(caught.value) == message
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # left as it was: the operator decides
    os.chmod(path, 0o600)
    assert load_key(None, database) == first


def test_processes_starting_together_agree_on_one_key(tmp_path: Path):
    database = str(tmp_path / "k.db")
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_key(None, database))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1


def test_a_corrupt_key_file_stops_start_up(tmp_path: Path):
    database = str(tmp_path / "k.db")
    Path(database + KEY_FILE_SUFFIX).write_text("not a key\n")
    os.chmod(database + KEY_FILE_SUFFIX, 0o600)
    with pytest.raises(VaultKeyError, match=r"the vault key file .*k\.db\.vault-key must be a 32-byte key"):
        load_key(None, database)


def test_memory_database_gets_a_process_key():
    assert len(load_key(None, ":memory:")) == 32


def test_lazy_vault_loads_its_key_once():
    vault = LazyVault(KEY.hex(), None)
    assert not vault.loaded
    sealed = vault.seal(DETAILS, "customers", "c1")
    assert vault.loaded
    assert Vault(KEY).open(sealed, "customers", "c1") == DETAILS
    assert vault.open(sealed, "customers", "c1") == DETAILS


def test_lazy_vault_without_a_key_on_postgres_fails_to_load():
    with pytest.raises(VaultKeyError):
        LazyVault(None, None).load()


def test_derived_keys_differ_by_purpose_and_from_the_vault_key():
    from komoju_server.store.vault import Vault

    key = bytes(range(32))
    vault = Vault(key)
    one, two = vault.derive("a"), vault.derive("b")
    assert len(one) == 32 and one != two and key not in (one, two)
    assert Vault(key).derive("a") == one
