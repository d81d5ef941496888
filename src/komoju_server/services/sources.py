"""Where payments find details that are not given inline: tokens and customers.

The `DetailsSource` the payments service is given (`Payments.sources`).
"""

from __future__ import annotations

from komoju_server.domain.caller import Caller
from komoju_server.services.customers import Customers
from komoju_server.services.payments import Resolved
from komoju_server.services.tokens import Tokens


class StoredDetails:
    def __init__(self, tokens: Tokens, customers: Customers) -> None:
        self._tokens = tokens
        self._customers = customers

    async def from_token(self, caller: Caller, token_id: str, param: str, now: int) -> Resolved:
        return await self._tokens.resolve(caller, token_id, param, now)

    async def from_customer(self, caller: Caller, customer_id: str, now: int) -> Resolved:
        return await self._customers.details_for_charge(caller, customer_id, now)
