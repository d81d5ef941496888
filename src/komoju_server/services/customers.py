"""Customer use cases: keep payment details for later payments; show, list, change, delete.

The details (from a hash or a token) are sealed in the vault without the card's CVV, which
is never kept. Every change writes the customer, its event and (when a token paid for it)
the token's use in one unit of work. Changes are conditional on the version that was read
and start over when another request got there first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from komoju_server.domain import ids, money, params, rules
from komoju_server.domain.caller import Caller
from komoju_server.domain.cards import card_brand
from komoju_server.domain.clock import TimeRange
from komoju_server.domain.customer import Customer
from komoju_server.domain.errors import ApiError, invalid
from komoju_server.methods import Family, Method, method_of
from komoju_server.services import answers
from komoju_server.services.changes import change
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.services.locks import KeyedLocks
from komoju_server.services.payments import Resolved
from komoju_server.services.tokens import PARAM, Tokens, check_opens, currency_for, public_details
from komoju_server.store import Conflict, Store, Write
from komoju_server.store import customers as table
from komoju_server.store.vault import LazyVault, Vault, VaultError

log = logging.getLogger("komoju_server")

# A change that lost the race for its customer: read it again and start over.
RETRY_ON = (table.UPDATE_LABEL, table.DELETE_LABEL)
# Details good for one payment only: a customer never keeps them.
NEVER_KEPT = frozenset({"verification_value"})


def kept_details(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k not in NEVER_KEPT}


def safe_details(method: Method, details: dict[str, Any]) -> dict[str, Any]:
    """The stored details as a customer shows them: the method's token fields and, for a
    card, what identifies it without revealing it."""
    shown = public_details(method, details)
    if method.family is Family.CARD:
        number = str(details["number"])
        shown.update(
            brand=card_brand(number), last_four_digits=number[-4:], month=details.get("month"), year=details.get("year")
        )
    return shown


def _currency(value: Any, method: Method | None) -> str | None:
    """An optional `currency`: one the stored details' method takes, any known one before
    the customer has details."""
    if method is not None:
        return currency_for(value, method)
    return money.currency(value) if params.present(value) else None


def _email(value: Any) -> str | None:
    return rules.email(value, "email") if params.present(value) else None


class Customers:
    def __init__(self, store: Store, clock_: Clock, events: Events, vault: Vault | LazyVault, tokens: Tokens) -> None:
        self._store = store
        self._clock = clock_
        self._events = events
        self._vault = vault
        self._tokens = tokens
        self._locks = KeyedLocks()

    # -- reading ----------------------------------------------------------------------------

    async def get(self, caller: Caller, customer_id: str) -> Customer:
        found = await table.get(self._store, caller.scope, customer_id)
        if found is None:
            raise ApiError("not_found")
        return found[0]

    async def page(self, caller: Caller, created: TimeRange, number: int, per_page: int) -> tuple[int, list[Customer]]:
        return await table.page(self._store, caller.scope, created, number, per_page)

    async def details_for_charge(self, caller: Caller, customer_id: Any, now: int) -> Resolved:
        """The customer's stored details, ready to charge (for payments and subscriptions).

        An unknown or deleted customer is `invalid_parameter` on `customer`.
        """
        if not isinstance(customer_id, str) or not params.object_id(customer_id):
            raise invalid("customer")
        found = await table.get(self._store, caller.scope, customer_id)
        if found is None:
            raise invalid("customer")
        customer, sealed = found
        if customer.method_type is None:
            raise ApiError("invalid_parameter", "customer", message="The customer has no payment details")
        details = self._open(customer.id, sealed)
        return Resolved(method_of(details), details, [], customer=customer.id, scenario=customer.scenario)

    # -- changing ---------------------------------------------------------------------------

    async def create(self, caller: Caller, body: dict[str, Any], scenario: str | None) -> Customer:
        raw = body.get(PARAM)
        now = await self._clock.now(caller)
        email = _email(body.get("email"))
        metadata = params.metadata(body.get("metadata"))
        if not params.present(raw):
            # KOMOJU keeps a customer without payment details (`source` null), to be given
            # them later by a customer-mode session or an update.
            customer, writes = self.new(
                caller, None, now, email=email, metadata=metadata, currency=_currency(body.get("currency"), None)
            )
            await self._store.run([*writes, *answers.writes_for(200, customer.to_api())])
            return customer
        resolved = await self._tokens.details(caller, raw, PARAM, now)
        customer, writes = self.new(
            caller,
            resolved,
            now,
            email=email,
            metadata=metadata,
            currency=currency_for(body.get("currency"), resolved.method),
            scenario=scenario,
        )
        unit = [*writes, *resolved.writes, *answers.writes_for(200, customer.to_api())]
        await self._run(unit, resolved.writes)
        return customer

    def new(
        self,
        caller: Caller,
        resolved: Resolved | None,
        now: int,
        email: str | None = None,
        metadata: dict[str, Any] | None = None,
        currency: str | None = None,
        scenario: str | None = None,
    ) -> tuple[Customer, list[Write]]:
        """A customer of these details, and the writes that store it with its event, for the
        caller's unit of work (a session saves one with the payment it makes). Using a token
        the details came from is the caller's to write (`resolved.writes`)."""
        customer = Customer(
            id=ids.new_id(),
            merchant_id=caller.merchant_id,
            mode=caller.mode,
            created_at=now,
            method_type=None if resolved is None else resolved.method.type,
            details=None if resolved is None else safe_details(resolved.method, resolved.details),
            email=email,
            metadata=dict(metadata or {}),
            currency=currency,
            scenario=scenario,
        )
        sealed = self._seal(customer.id, {} if resolved is None else resolved.details)
        event = self._events.record(caller, "customer.created", customer.to_api(), now)
        return customer, [table.insert(customer, sealed), *event]

    async def saved_on(
        self, caller: Caller, customer_id: str, resolved: Resolved, now: int, email: str | None = None
    ) -> tuple[Customer, list[Write]]:
        """An existing customer given new details (and email, when given), and the writes that
        store it, conditional on the version read (a session saving details on a customer)."""
        customer = await self.get(caller, customer_id)
        seen = customer.version
        customer.method_type = resolved.method.type
        customer.details = safe_details(resolved.method, resolved.details)
        if email is not None:
            customer.email = email
        if customer.currency is not None and customer.currency not in resolved.method.limits:
            customer.currency = None
        sealed = self._seal(customer.id, resolved.details)
        event = self._events.record(caller, "customer.updated", customer.to_api(), now)
        return customer, [table.update(customer, sealed, seen), *event]

    async def update(self, caller: Caller, customer_id: str, body: dict[str, Any]) -> Customer:
        async def write(customer: Customer, now: int) -> None:
            seen = customer.version
            if "email" in body:
                customer.email = _email(body.get("email"))
            if "metadata" in body:
                customer.metadata = params.metadata(body.get("metadata"))
            sealed: bytes | None = None
            token_writes: list[Write] = []
            method = None if customer.method_type is None else method_of({"type": customer.method_type})
            if params.present(body.get(PARAM)):
                resolved = await self._tokens.details(caller, body[PARAM], PARAM, now)
                method, token_writes = resolved.method, resolved.writes
                customer.method_type = method.type
                customer.details = safe_details(method, resolved.details)
                sealed = self._seal(customer.id, resolved.details)
            if "currency" in body:
                customer.currency = _currency(body.get("currency"), method)
            elif method is not None and customer.currency is not None and customer.currency not in method.limits:
                raise ApiError("invalid_currency", "currency")
            event = self._events.record(caller, "customer.updated", customer.to_api(), now)
            await self._run([table.update(customer, sealed, seen), *token_writes, *event], token_writes)

        return await self._change(caller, customer_id, write)

    async def delete(self, caller: Caller, customer_id: str) -> Customer:
        """Removes the customer and its sealed details; answers the customer as it was."""

        async def write(customer: Customer, now: int) -> None:
            event = self._events.record(caller, "customer.deleted", customer.to_api(), now)
            await self._store.run([table.delete(customer), *event])

        return await self._change(caller, customer_id, write)

    async def _change(
        self, caller: Caller, customer_id: str, write: Callable[[Customer, int], Awaitable[None]]
    ) -> Customer:
        """Read, decide and write if unchanged; start over when another request got there first."""

        async def attempt() -> Customer:
            customer = await self.get(caller, customer_id)
            await write(customer, await self._clock.now(caller))
            return customer

        return await change(self._locks, customer_id, attempt, RETRY_ON)

    async def _run(self, unit: list[Write], token_writes: list[Write]) -> None:
        try:
            await self._store.run(unit)
        except Conflict as conflict:
            if conflict.write in token_writes:  # the token was used by a concurrent request
                raise ApiError("invalid_token", PARAM) from conflict
            raise

    # -- the vault --------------------------------------------------------------------------

    def _seal(self, customer_id: str, details: dict[str, Any]) -> bytes:
        return self._vault.seal(kept_details(details), table.TABLE, customer_id)

    def _open(self, customer_id: str, sealed: bytes) -> dict[str, Any]:
        try:
            return self._vault.open(sealed, table.TABLE, customer_id)
        except VaultError:
            log.error("vault: customer %s does not open with the configured vault key", customer_id)
            raise ApiError("internal_server_error") from None

    async def check_vault(self) -> None:
        """Refuse to start with a vault key that cannot open the customers already stored."""
        sealed = await table.any_sealed(self._store)
        if sealed is not None:
            check_opens(self._vault, table.TABLE, *sealed)
