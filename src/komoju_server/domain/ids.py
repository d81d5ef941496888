"""Identifiers: 25 lowercase letters and digits, as KOMOJU's (e.g. bncg5974hoii95erwy2gqx7vz)."""

from __future__ import annotations

import os
import threading
import time

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


def random_bytes(n: int) -> bytes:
    """`n` bytes from the OS's CSPRNG, fetched 8 KB at a time: os.urandom releases the GIL, and
    under load every release hands the core to the SQLite writer thread for a while."""
    global _pool, _pool_at
    with _pool_lock:
        if _pool_at + n > len(_pool):
            _pool, _pool_at = os.urandom(_POOL_SIZE), 0
        chunk = _pool[_pool_at : _pool_at + n]
        _pool_at += n
        return chunk


# Random characters, made from CSPRNG bytes 8 KB at a time (about 8,000 characters, 470 ids):
# one slice an id, where mapping bytes to characters for each id was half its cost.
_chars = ""
_chars_at = 0


def random_chars(length: int) -> str:
    """`length` characters of [0-9a-z], each equally likely (about 5.2 bits each)."""
    global _chars, _chars_at
    with _pool_lock:
        if _chars_at + length > len(_chars):
            _chars, _chars_at = "", 0
            while len(_chars) < length:
                _chars += os.urandom(_POOL_SIZE).translate(_TABLE, _UNEVEN).decode("ascii")
        out = _chars[_chars_at : _chars_at + length]
        _chars_at += length
        return out


def _forget_pool() -> None:
    # A forked child must not hand out the ids its parent will also hand out.
    global _pool, _pool_at, _chars, _chars_at
    _pool, _pool_at = b"", 0
    _chars, _chars_at = "", 0


os.register_at_fork(after_in_child=_forget_pool)


TIME_DIGITS = 8  # milliseconds since the epoch in base 36: good until the year 2059
_RANDOM_LENGTH = ID_LENGTH - TIME_DIGITS


_prefix_at = -1  # the millisecond the prefix below was made for
_prefix = ""


def new_id() -> str:
    """8 characters of time, then 17 random ones (about 88 bits).

    Ids made together sort together, so a batch of inserts lands on the same few pages of
    each id index instead of one random page per row: fewer pages to write and fsync.
    """
    global _prefix_at, _prefix
    millis = time.time_ns() // 1_000_000
    if millis != _prefix_at:  # made once a millisecond, not once an id
        digits = []
        left = millis
        for _ in range(TIME_DIGITS):
            left, digit = divmod(left, 36)
            digits.append(_ALPHABET[digit])
        _prefix_at, _prefix = millis, "".join(reversed(digits))
    return _prefix + random_chars(_RANDOM_LENGTH)


def new_token_id() -> str:
    return "tok_" + new_id()


# What follows a key's prefix (`sk_test_`, `pk_live_`...): 32 characters of base 36 (about 165
# bits), so that every key is 40 characters. Clients that build the Basic header with Ruby's
# Base64.encode64 (ActiveMerchant's KOMOJU gateway, spree_komoju) break it into lines of 60
# base64 characters: "key:" must stay within 45 bytes, so a key may have 44 characters at most.
KEY_RANDOM_LENGTH = 32
MAX_KEY_LENGTH = 44


def random_key(prefix: str) -> str:
    """An API key such as sk_test_... : the prefix and 32 characters of base 36."""
    return prefix + random_chars(KEY_RANDOM_LENGTH)
