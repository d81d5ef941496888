"""Signing in to the dashboard with a secret key, and knowing who a dashboard request is from.

A session is a random 256-bit value in the browser's cookie; the database keeps only its
SHA-256 (`store/dashboard_sessions.py`), with the merchant, the mode and the digest of the key
it signed in with. The key itself is never kept, in the cookie or anywhere else. Chosen over a
sealed cookie (a value the server could check without a database) because a session must end
when the merchant signs out, and when its keys are rotated, in every server process at once:
a sealed cookie copied before the sign-out would stay good until it expired.
"""

from __future__ import annotations

import secrets

from komoju_server.domain import clock
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.merchants import KeyRing
from komoju_server.store import Store
from komoju_server.store import dashboard_sessions as table
from komoju_server.store.merchants import key_digest

LIFETIME = 12 * 3600  # seconds a session lasts (real time), however active
MAX_KEY_LENGTH = 200
PUBLISHABLE_REFUSAL = "The dashboard takes a secret key (sk_...), not a publishable one."


class DashboardSessions:
    def __init__(self, store: Store, keyring: KeyRing, lifetime: int = LIFETIME) -> None:
        self._store = store
        self._keyring = keyring
        self._lifetime = lifetime

    async def sign_in(self, key: str) -> tuple[str, Caller]:
        """A new session for a secret key: the value for the cookie, and who it is.
        An unknown key answers `unauthorized`; a publishable key `forbidden`."""
        key = key.strip()
        caller = await self._keyring.caller(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
        if caller is None:
            raise ApiError("unauthorized")
        if caller.key_kind != "secret":
            raise ApiError("forbidden", message=PUBLISHABLE_REFUSAL)
        value = secrets.token_urlsafe(32)
        now = clock.now()
        await self._store.run(
            [
                table.insert(
                    table.digest(value), key_digest(key), caller.merchant_id, caller.mode, now, now + self._lifetime
                )
            ]
        )
        return value, caller

    async def caller(self, value: str | None) -> Caller | None:
        """Who a session cookie's value belongs to; None when it is unknown, ended or expired."""
        if not value or len(value) > 100:
            return None
        row = await table.find(self._store, table.digest(value), clock.now())
        if row is None or row.kind != "secret" or row.mode not in ("test", "live"):
            return None
        return Caller(row.merchant_id, "test" if row.mode == "test" else "live", "secret")

    async def sign_out(self, value: str | None) -> None:
        if value and len(value) <= 100:
            await self._store.run([table.delete(table.digest(value))])

    async def purge(self) -> int:
        """Forgets expired sessions (a scheduler chore)."""
        return (await self._store.run([table.purge(clock.now())]))[0]
