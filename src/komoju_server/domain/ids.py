"""Identifiers: 25 lowercase letters and digits, as KOMOJU's (e.g. bncg5974hoii95erwy2gqx7vz)."""

from __future__ import annotations

import os

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 25


def new_id() -> str:
    # 16 random bytes (128 bits) fit in 25 base-36 digits (36**25 > 2**128).
    n = int.from_bytes(os.urandom(16), "big")
    out = []
    for _ in range(ID_LENGTH):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(out)


def new_token_id() -> str:
    return "tok_" + new_id()


def random_key(prefix: str) -> str:
    """An API key such as sk_test_... : the prefix and 40 characters of base 36."""
    return prefix + new_id() + new_id()[:15]
