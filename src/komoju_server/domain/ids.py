"""Identifiers: 25 lowercase letters and digits, as KOMOJU's (e.g. bncg5974hoii95erwy2gqx7vz)."""

from __future__ import annotations

import os
import threading

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 25


# Random bytes become characters by table lookup; the 4 byte values past 7 * 36 are dropped so
# that every character is equally likely (25 characters carry about 129 bits).
_TABLE = bytes(ord(_ALPHABET[i % 36]) for i in range(256))
_UNEVEN = bytes(range(252, 256))


_POOL_SIZE = 8192
_pool = b""
_pool_at = 0
_pool_lock = threading.Lock()


def _random_bytes(n: int) -> bytes:
    """`n` bytes from the OS's CSPRNG, fetched 8 KB at a time: os.urandom releases the GIL, and
    under load every release hands the core to the SQLite writer thread for a while."""
    global _pool, _pool_at
    with _pool_lock:
        if _pool_at + n > len(_pool):
            _pool, _pool_at = os.urandom(_POOL_SIZE), 0
        chunk = _pool[_pool_at : _pool_at + n]
        _pool_at += n
        return chunk


def _forget_pool() -> None:
    # A forked child must not hand out the ids its parent will also hand out.
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def new_id() -> str:
    while True:
        chars = _random_bytes(32).translate(_TABLE, _UNEVEN)
        if len(chars) >= ID_LENGTH:
            return chars[:ID_LENGTH].decode("ascii")


def new_token_id() -> str:
    return "tok_" + new_id()


def random_key(prefix: str) -> str:
    """An API key such as sk_test_... : the prefix and 40 characters of base 36."""
    return prefix + new_id() + new_id()[:15]
