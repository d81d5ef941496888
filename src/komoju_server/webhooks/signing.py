"""Signing a delivery as KOMOJU does: `X-Komoju-Signature` is the lowercase hex HMAC-SHA256 of
the raw request body, keyed with the webhook's secret token."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Komoju-Signature"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature.strip().lower())
