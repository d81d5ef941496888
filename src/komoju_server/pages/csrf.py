"""CSRF tokens for the pages' forms: a signed double submit.

The browser gets a random value in an HttpOnly, SameSite=Lax cookie; a form carries the HMAC
of that value under a key derived from the server's vault key, so every worker and host of
one deployment checks the same way, with nothing stored. Another site can make a browser send
the cookie (Lax lets top-level navigations through) but can neither read it nor compute the
token for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

COOKIE = "komoju_csrf"
FIELD = "authenticity_token"


class Csrf:
    def __init__(self, key: Callable[[], bytes]) -> None:
        # Asked for on first use: the vault key is loaded when the server starts, after the
        # routes are made.
        self._key = key
        self._known: bytes | None = None

    def token_for(self, cookie: str) -> str:
        if self._known is None:
            self._known = self._key()
        return hmac.new(self._known, cookie.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def valid(self, cookie: str | None, token: object) -> bool:
        if not cookie or not isinstance(token, str):
            return False
        return hmac.compare_digest(self.token_for(cookie), token)
