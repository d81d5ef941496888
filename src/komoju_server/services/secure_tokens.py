"""Secure token use cases (3-D Secure): make one from card details, show it, let the customer
authenticate on its authentication page, and hand its card to the one payment it may pay.

A secure token's card details are sealed in the vault, CVV included (the payment needs it),
until the token pays (erased in the payment's own unit of work), fails (erased with the move)
or expires (the row is deleted by a scheduler chore). Whether a card needs a challenge, and
whether it passes, is the test catalogue's (`processors/test_inputs.py`), asked through the
sandbox; secure tokens are made in test mode only.

For the hosted payment page (sessions): `create` takes typed inputs
(`NewSecureToken(amount, currency, return_url, InlineDetails(...))`), and once the customer is
back with a verified token, `payments.create(caller, payment_with(token, tax), base_url)` pays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol, cast

from komoju_server.domain import clock, ids, secure_token
from komoju_server.domain.caller import Caller, Mode
from komoju_server.domain.cards import card_brand
from komoju_server.domain.errors import ApiError, invalid, not_one_of, over_limit
from komoju_server.domain.secure_token import Authentication, SecureToken
from komoju_server.methods import Family, method_of
from komoju_server.services import answers, inputs
from komoju_server.services.clock import Clock
from komoju_server.services.customers import Customers
from komoju_server.services.payments import Resolved
from komoju_server.services.tokens import PREFIX, Tokens, check_opens
from komoju_server.store import Conflict, Store
from komoju_server.store import merchants as merchants_table
from komoju_server.store import secure_tokens as table
from komoju_server.store.vault import LazyVault, Vault, VaultError

log = logging.getLogger("komoju_server")

PARAM = "payment_details"
PAGE_PATH = "/three_d_secure"  # the authentication page: PAGE_PATH/<token id>
LIVE_REFUSAL = "3-D Secure is not available in live mode on this server: secure tokens are made in test mode only."
CARD_ONLY = "credit_card"

# Why a secure token does not pay (code invalid_token, param payment_details).
NOT_VERIFIED = "The secure token has not been verified: send the customer to its authentication_url first"
FAILED = "The secure token failed 3-D Secure authentication and cannot be used"
USED = "The secure token has already been used"


class Authenticator(Protocol):
    """Decides 3-D Secure for a card: the sandbox, from its test catalogue."""

    def authentication(self, number: str) -> Authentication | None: ...

    def challenge_passes(self, authentication: Authentication, password: str) -> bool: ...


@dataclass(frozen=True)
class Challenge:
    """What the authentication page shows: the token, and whose shop it pays."""

    token: SecureToken
    merchant_name: str


def refused(message: str, param: str = PARAM) -> ApiError:
    return ApiError("invalid_token", param, message=message)


def payment_with(token: SecureToken, tax: int, **options: Any) -> inputs.NewPayment:
    """The payment a verified secure token pays: its amount and currency, its card."""
    return inputs.NewPayment(
        amount=token.amount, currency=token.currency, tax=tax, source=inputs.TokenDetails(token.id), **options
    )


class SecureTokens:
    def __init__(
        self,
        store: Store,
        clock_: Clock,
        vault: Vault | LazyVault,
        tokens: Tokens,
        customers: Customers,
        authenticator: Authenticator,
    ) -> None:
        self._store = store
        self._clock = clock_
        self._vault = vault
        self._tokens = tokens
        self._customers = customers
        self._authenticator = authenticator

    # -- the API ----------------------------------------------------------------------------

    async def create(self, caller: Caller, new: inputs.NewSecureToken, base_url: str) -> SecureToken:
        if caller.mode != "test":
            raise ApiError("forbidden", message=LIVE_REFUSAL)
        now = await self._clock.now(caller)
        resolved = await self._card(caller, new.source, now)
        limits = resolved.method.limits
        if new.currency not in limits:
            raise ApiError("invalid_currency", "currency", details=not_one_of(limits))
        least, most = limits[new.currency]
        if not least <= new.amount <= most:
            raise invalid("amount", over_limit(least, most, new.currency))
        number = str(resolved.details["number"])
        authentication = self._authenticator.authentication(number)
        token_id = ids.new_token_id()
        token = SecureToken(
            id=token_id,
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            status=secure_token.SKIPPED if authentication is None else secure_token.NEEDS_VERIFY,
            created_at=now,
            expires_at=now + secure_token.LIFETIME_SECONDS,
            amount=new.amount,
            currency=new.currency,
            return_url=new.return_url,
            authentication_url=f"{base_url}{PAGE_PATH}/{token_id}",
            brand=card_brand(number),
            last_four_digits=number[-4:],
            authentication=authentication,
            customer=resolved.customer,
            scenario=resolved.scenario,
        )
        sealed = self._vault.seal(resolved.details, table.TABLE, token.id)
        unit = [table.insert(token, sealed), *resolved.writes, *answers.writes_for(200, token.to_api(created=True))]
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write in resolved.writes:  # the token was used by a concurrent request
                raise ApiError("invalid_token", PARAM) from conflict
            raise
        return token

    async def _card(self, caller: Caller, source: inputs.PaymentSource, now: int) -> Resolved:
        """The card to authenticate: given inline, a token's, or a customer's stored card."""
        if isinstance(source, inputs.CustomerDetails):
            resolved = await self._customers.details_for_charge(caller, source.customer_id, now)
            if resolved.method.family is not Family.CARD:
                raise invalid("customer")
            return resolved
        if isinstance(source, inputs.TokenDetails):
            resolved = await self._tokens.resolve(caller, source.token_id, PARAM, now)
        else:
            resolved = Resolved(source.method, source.details, [])
        if resolved.method.family is not Family.CARD:
            raise ApiError("invalid_payment_type", f"{PARAM}[type]", provided=resolved.method.type, allowed=CARD_ONLY)
        return resolved

    async def get(self, caller: Caller, token_id: str) -> SecureToken:
        token = await table.get(self._store, caller.scope, token_id)
        if token is None or token.expires_at <= await self._clock.now(caller):
            raise ApiError("not_found")
        return token

    # -- the authentication page ------------------------------------------------------------

    async def visit(self, token_id: str) -> Challenge | None:
        """The customer opened the authentication_url. A frictionless card is decided now (the
        page then sends the customer straight back); a challenge waits for `answer`. None: no
        such token (or expired)."""
        found = await self._find(token_id)
        if found is None:
            return None
        token, now = found
        auth = token.authentication
        if token.status == secure_token.NEEDS_VERIFY and auth is not None and not auth.challenge:
            token = await self._decide(token, "authenticate" if auth.passes else "fail", now)
        name = await merchants_table.name(self._store, token.merchant_id)
        return Challenge(token, name or "")

    async def answer(self, token_id: str, password: str) -> SecureToken | None:
        """The challenge's password: the right one verifies a passing card, anything else fails."""
        found = await self._find(token_id)
        if found is None:
            return None
        token, now = found
        auth = token.authentication
        if auth is None or not auth.challenge:
            return token
        passes = self._authenticator.challenge_passes(auth, password)
        return await self._decide(token, "authenticate" if passes else "fail", now)

    async def cancel(self, token_id: str) -> SecureToken | None:
        """The customer gave up on the challenge: the token fails."""
        found = await self._find(token_id)
        if found is None:
            return None
        token, now = found
        return await self._decide(token, "fail", now)

    async def _find(self, token_id: str) -> tuple[SecureToken, int] | None:
        token = await table.find(self._store, token_id)
        if token is None:
            return None
        now = await self._clock.now(Caller(token.merchant_id, cast(Mode, token.mode), "secret"))
        return (token, now) if token.expires_at > now else None

    async def _decide(self, token: SecureToken, action: str, now: int) -> SecureToken:
        """Moves the token once; when another request moved it first, what it decided stands."""
        target = secure_token.move(action, token.status)
        if target is None:
            return token
        try:
            await self._store.run([table.move(token, target, now)])
        except Conflict:
            return await table.find(self._store, token.id) or token
        token.status = target
        return token

    # -- paying -----------------------------------------------------------------------------

    async def resolve(self, caller: Caller, token_id: Any, param: str, now: int) -> Resolved | None:
        """A payable secure token's card, with the write that uses it up, bound to the token's
        amount and currency. None when it is not one of this merchant's secure tokens (in this
        mode) or has expired: then it is just an unknown token."""
        if not isinstance(token_id, str) or not token_id.startswith(PREFIX) or len(token_id) > 200:
            return None
        token = await table.get(self._store, caller.scope, token_id)
        if token is None or token.expires_at <= now:
            return None
        if token.used_at is not None:
            raise refused(USED, param)
        if token.status == secure_token.NEEDS_VERIFY:
            raise refused(NOT_VERIFIED, param)
        if token.status not in secure_token.PAYABLE:
            raise refused(FAILED, param)
        blob = await table.sealed(self._store, token.id)
        if blob is None:  # erased meanwhile: a concurrent payment used it
            raise refused(USED, param)
        try:
            details = self._vault.open(blob, table.TABLE, token.id)
        except VaultError:
            log.error("vault: secure token %s does not open with the configured vault key", token.id)
            raise ApiError("internal_server_error") from None
        return Resolved(
            method_of(details),
            details,
            [table.use(token.id, caller.scope, now)],
            customer=token.customer,
            scenario=token.scenario,
            bound_to=(token.amount, token.currency),
        )

    # -- housekeeping -----------------------------------------------------------------------

    async def forget_expired(self, now: int | None = None) -> int:
        """Deletes every secure token expired by `now` (default: the real time; a merchant's
        sandbox clock only runs ahead of it), with its sealed card. A scheduler chore."""
        counts = await self._store.run([table.forget_expired(clock.now() if now is None else now)])
        return counts[0]

    async def check_vault(self) -> None:
        """Refuse to start with a vault key that cannot open the cards already stored."""
        sealed = await table.any_sealed(self._store)
        if sealed is not None:
            check_opens(self._vault, table.TABLE, *sealed)
