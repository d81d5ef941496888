"""Where payments find details that are not given inline: tokens, secure tokens and customers.

The `DetailsSource` the payments service is given (`Payments.sources`).
"""

from __future__ import annotations

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.services.customers import Customers
from komoju_server.services.payments import Resolved
from komoju_server.services.secure_tokens import SecureTokens
from komoju_server.services.tokens import Tokens


class StoredDetails:
    def __init__(self, tokens: Tokens, customers: Customers, secure_tokens: SecureTokens | None = None) -> None:
        self._tokens = tokens
        self._customers = customers
        self._secure_tokens = secure_tokens

    async def from_token(self, caller: Caller, token_id: str, param: str, now: int) -> Resolved:
        """A token's details; a `tok_` id that is no token may be a secure token (both look
        alike, as on KOMOJU), looked up only then: plain tokens, the common case, cost nothing more."""
        try:
            return await self._tokens.resolve(caller, token_id, param, now)
        except ApiError as unknown:
            if unknown.code != "invalid_token" or self._secure_tokens is None:
                raise
            secured = await self._secure_tokens.resolve(caller, token_id, param, now)
            if secured is None:
                raise
            return secured

    async def from_customer(self, caller: Caller, customer_id: str, now: int) -> Resolved:
        return await self._customers.details_for_charge(caller, customer_id, now)
