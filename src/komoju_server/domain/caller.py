"""Who is calling: a merchant, in test or live mode, with a secret or a publishable key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from komoju_server.domain import versions

Mode = Literal["test", "live"]
KeyKind = Literal["secret", "publishable"]

KEY_PREFIXES: dict[tuple[KeyKind, Mode], str] = {
    ("secret", "test"): "sk_test_",
    ("publishable", "test"): "pk_test_",
    ("secret", "live"): "sk_live_",
    ("publishable", "live"): "pk_live_",
}


@dataclass(frozen=True, slots=True)
class Caller:
    merchant_id: str
    mode: Mode
    key_kind: KeyKind
    # The API version its answers are shaped by (the request's X-KOMOJU-API-VERSION). Callers
    # made inside the server (the scheduler, recovery, pages) answer in the default one.
    api_version: versions.ApiVersion = versions.DEFAULT

    @property
    def scope(self) -> tuple[str, str]:
        """Every stored object belongs to one (merchant, mode) pair and is seen only through it."""
        return (self.merchant_id, self.mode)
