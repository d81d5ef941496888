"""The vault: sensitive payment details (card numbers, prepaid numbers, passwords), sealed
with AES-256-GCM before they touch the database.

A sealed value is `version byte || 12-byte random nonce || ciphertext+tag`. Its associated
data names the table and the row it belongs to, so a blob copied into another row (or
another table) does not open.

The key comes from `KOMOJU_VAULT_KEY` (32 bytes as 64 hex digits or as base64). Without it, a
SQLite database gets a key file beside it (`<database>.vault-key`, mode 0600), made once,
atomically, and reused on every start. PostgreSQL serves many processes and hosts, so a key
file on one of them would not do: there the key must be given.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from komoju_server.domain import ids

log = logging.getLogger("komoju_server")

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"
ENV_NAME = "KOMOJU_VAULT_KEY"
KEY_FILE_SUFFIX = ".vault-key"
_MEMORY_DATABASES = ("", ":memory:")
_GENERATE_HINT = "generate one with: python3 -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'"


class VaultKeyError(Exception):
    """The vault has no usable key; the server must not start."""


class VaultError(Exception):
    """A sealed value did not open: another key sealed it, or it belongs to another row."""


def parse_key(text: str, source: str = ENV_NAME) -> bytes:
    """32 bytes from 64 hex digits or from base64 (standard or URL-safe, padding optional)."""
    clean = text.strip()
    if len(clean) == 2 * KEY_BYTES and all(c in "0123456789abcdefABCDEF" for c in clean):
        return bytes.fromhex(clean)
    try:
        padded = clean + "=" * (-len(clean) % 4)
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise VaultKeyError(
            f"{source} must be a 32-byte key written as 64 hex digits or as base64 (44 characters); {_GENERATE_HINT}"
        )
    return key


def key_file_path(database_path: str) -> str:
    return database_path + KEY_FILE_SUFFIX


def load_key(vault_key: str | None, sqlite_database: str | None) -> bytes:
    """The vault key: the configured one, else (SQLite only) the key file beside the database.

    `sqlite_database` is the database file's path, or None for PostgreSQL.
    """
    if vault_key:
        return parse_key(vault_key)
    if sqlite_database is None:
        raise VaultKeyError(
            f"{ENV_NAME} is not set: with PostgreSQL the vault key that encrypts card numbers and other "
            f"payment secrets must be given in {ENV_NAME} (32 bytes as 64 hex digits or base64), the same "
            f"for every server process; {_GENERATE_HINT}"
        )
    if sqlite_database in _MEMORY_DATABASES or sqlite_database.startswith("file::memory:"):
        log.warning("vault: in-memory database, using a key that lives as long as this process")
        return secrets.token_bytes(KEY_BYTES)
    return _key_file(key_file_path(sqlite_database))


def _key_file(path: str) -> bytes:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: str) -> bytes:
    with open(path, encoding="ascii") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        text = handle.read()
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Someone loosened it (a copy, a restore): the key may have been read already, so the
        # operator decides, rather than the server tightening it quietly.
        raise VaultKeyError(exposed_message(path, stat.S_IMODE(mode)))
    return parse_key(text, f"the vault key file {path}")


def exposed_message(path: str, mode: int) -> str:
    """One line refusing a file that group or others may read (the key, the database files)."""
    return f"{path} is open to group or others (mode {mode:04o}); make it private with: chmod 600 {path}"


def _create_key_file(path: str) -> None:
    """Write a new random key so that no reader ever sees a half-written file and two servers
    starting at once agree: write a private temporary file, then hard-link it into place,
    which fails if another process got there first (its key wins)."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError:
        # Filesystems without hard links: an exclusive rename is not portable, so fall back
        # to an exclusive create; a concurrent reader may then retry on an empty file.
        _create_in_place(temporary, path)
    finally:
        os.unlink(temporary)
    _fsync_directory(directory)
    log.info("vault: created the key file %s; back it up with the database", path)


def _create_in_place(temporary: str, path: str) -> None:
    with open(temporary, "rb") as source:
        data = source.read()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def associated_data(table: str, row_id: str) -> bytes:
    return f"komoju-vault:{table}:{row_id}".encode()


class Vault:
    """Seals and opens JSON-able values under one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise VaultKeyError("the vault key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for another purpose (HKDF-SHA256), unrelated to the sealing key."""
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(self._key)

    def seal(self, value: dict[str, Any], table: str, row_id: str) -> bytes:
        # A random nonce from the CSPRNG, taken from the bytes ids.random_bytes fetches 8 KB at
        # a time: one os.urandom call per seal released the GIL under load (domain/ids.py).
        nonce = ids.random_bytes(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, orjson.dumps(value), associated_data(table, row_id))

    def open(self, blob: bytes, table: str, row_id: str) -> dict[str, Any]:
        blob = bytes(blob)
        if blob[:1] != FORMAT_V1 or len(blob) < 1 + NONCE_BYTES + 16:
            raise VaultError(f"{table} {row_id}: not a vault value")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, associated_data(table, row_id))
        except InvalidTag as exc:
            raise VaultError(f"{table} {row_id}: does not open with this vault key") from exc
        value = orjson.loads(plain)
        if not isinstance(value, dict):
            raise VaultError(f"{table} {row_id}: not a vault value")
        return value


class LazyVault:
    """The runtime's vault: built before the key is known, keyed once at start-up, so a
    missing or bad key stops the server before it serves a single request."""

    def __init__(self, vault_key: str | None, sqlite_database: str | None) -> None:
        self._vault_key = vault_key
        self._sqlite_database = sqlite_database
        self._vault: Vault | None = None

    def load(self) -> None:
        if self._vault is None:
            self._vault = Vault(load_key(self._vault_key, self._sqlite_database))

    @property
    def loaded(self) -> bool:
        return self._vault is not None

    def _ready(self) -> Vault:
        if self._vault is None:
            self.load()
        assert self._vault is not None
        return self._vault

    def seal(self, value: dict[str, Any], table: str, row_id: str) -> bytes:
        return self._ready().seal(value, table, row_id)

    def open(self, blob: bytes, table: str, row_id: str) -> dict[str, Any]:
        return self._ready().open(blob, table, row_id)

    def derive(self, purpose: str) -> bytes:
        return self._ready().derive(purpose)
