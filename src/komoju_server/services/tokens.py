"""Token use cases: tokenize payment details, and resolve a token where details are expected.

A token is good once, for 30 days of its merchant's clock. Its details are sealed in the
vault; resolving a token answers them together with the write that marks it used, which
commits in the same unit of work as whatever the token paid for (a payment, a customer),
or not at all.
"""

from __future__ import annotations

import logging
from typing import Any

from komoju_server.domain import clock, ids, money, params
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError, missing, not_one_of
from komoju_server.domain.token import LIFETIME_SECONDS, Token
from komoju_server.methods import Method, clean_details, method_of
from komoju_server.processors.base import Tokenizer, Unanswered
from komoju_server.services import answers
from komoju_server.services.clock import Clock
from komoju_server.services.payments import Resolved
from komoju_server.store import Store
from komoju_server.store import tokens as table
from komoju_server.store.vault import ENV_NAME, LazyVault, Vault, VaultError, VaultKeyError

log = logging.getLogger("komoju_server")

PARAM = "payment_details"
PREFIX = "tok_"


def public_details(method: Method, details: dict[str, Any]) -> dict[str, Any]:
    """What a token shows of its details: the method's token fields, nothing secret."""
    return {name: details.get(name) for name in method.token_fields}


def currency_for(value: Any, method: Method) -> str | None:
    """An optional `currency` given with payment details: one the method takes."""
    if not params.present(value):
        return None
    code = money.currency(value)
    if code not in method.limits:
        raise ApiError("invalid_currency", "currency", details=not_one_of(method.limits))
    return code


def invalid_token(param: str) -> ApiError:
    return ApiError("invalid_token", param)


class Tokens:
    def __init__(self, store: Store, clock: Clock, vault: Vault | LazyVault, upstream: Tokenizer | None = None) -> None:
        self._store = store
        self._clock = clock
        self._vault = vault
        self._upstream = upstream  # live-mode tokens are made there, when the live processor can

    async def create(self, caller: Caller, body: dict[str, Any]) -> Token:
        raw = body.get(PARAM)
        if not params.present(raw):
            raise missing(PARAM)
        method = method_of(raw)
        details = clean_details(method, raw)
        currency = currency_for(body.get("currency"), method)
        now = await self._clock.now(caller)
        if caller.mode == "live" and self._upstream is not None:
            return await self._create_upstream(self._upstream, caller, method, details, currency, now)
        token = Token(
            id=ids.new_token_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            created_at=now,
            expires_at=now + LIFETIME_SECONDS,
            details=public_details(method, details),
        )
        sealed = self._vault.seal(details, table.TABLE, token.id)
        await self._store.run([table.insert(token, sealed), *answers.writes_for(200, token.to_api())])
        return token

    async def _create_upstream(
        self,
        upstream: Tokenizer,
        caller: Caller,
        method: Method,
        details: dict[str, Any],
        currency: str | None,
        now: int,
    ) -> Token:
        """A live token is the upstream's: the card goes there, and only the upstream token's id
        is kept, sealed, under a token of ours. Ours is what the client gets, so use-once, expiry
        and merchant scoping work as for any token; a payment with it forwards the upstream id."""
        try:
            made = await upstream.tokenize(details, currency)
        except Unanswered as lost:
            log.warning("live tokenize unanswered: %s", lost.reason)
            raise ApiError("bad_gateway") from None
        token = Token(
            id=ids.new_token_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            created_at=now,
            expires_at=now + LIFETIME_SECONDS,
            details=dict(made.details) or public_details(method, details),
        )
        pointer = {**made.charge_details, "type": method.type}
        sealed = self._vault.seal(pointer, table.TABLE, token.id)
        await self._store.run([table.insert(token, sealed), *answers.writes_for(200, token.to_api())])
        return token

    async def resolve(self, caller: Caller, token_id: Any, param: str, now: int) -> Resolved:
        """The token's details, with the write that uses it up. Used, expired, unknown and other
        merchants' (or the other mode's) tokens are all just invalid."""
        if not isinstance(token_id, str) or not token_id.startswith(PREFIX) or len(token_id) > 200:
            raise invalid_token(param)
        row = await table.find(self._store, caller.scope, token_id)
        if row is None or row.used_at is not None or row.expires_at <= now or row.secret is None:
            raise invalid_token(param)
        try:
            details = self._vault.open(row.secret, table.TABLE, row.id)
        except VaultError:
            log.error("vault: token %s does not open with the configured vault key", row.id)
            raise ApiError("internal_server_error") from None
        return Resolved(method_of(details), details, [table.use(row.id, caller.scope, now)])

    async def details(self, caller: Caller, raw: Any, param: str, now: int) -> Resolved:
        """Payment details given as a hash or as a token, checked as a payment checks them."""
        if isinstance(raw, str):
            return await self.resolve(caller, raw, param, now)
        method = method_of(raw, param)
        return Resolved(method, clean_details(method, raw, param), [])

    async def page(self, caller: Caller, number: int, per_page: int) -> tuple[int, list[table.Listed]]:
        """The merchant's tokens, newest first, with whether each was used (for the dashboard)."""
        return await table.page(self._store, caller.scope, number, per_page)

    async def forget_expired(self, now: int | None = None) -> int:
        """Deletes every token expired by `now` (default: the real time; a merchant's sandbox
        clock only runs ahead of it), and its sealed details with it. A scheduler chore."""
        counts = await self._store.run([table.forget_expired(clock.now() if now is None else now)])
        return counts[0]

    async def check_vault(self) -> None:
        """Refuse to start with a vault key that cannot open the tokens already stored."""
        sealed = await table.any_sealed(self._store)
        if sealed is not None:
            check_opens(self._vault, table.TABLE, *sealed)


def check_opens(vault: Vault | LazyVault, table_name: str, row_id: str, blob: bytes) -> None:
    try:
        vault.open(blob, table_name, row_id)
    except VaultError:
        raise VaultKeyError(
            f"the vault key does not open the payment details already stored in this database ({table_name}): "
            f"was {ENV_NAME} or the key file beside the database changed or lost?"
        ) from None
