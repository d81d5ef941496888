"""What a sandbox reset erases, and what it keeps: every table of the schema is in exactly one
of the two lists (tests/store/test_reset.py checks them against the migrated database).

A new table that holds a merchant's test data gets an `erase(merchant_id, mode)` in its table
module and a line in `ERASED`; a table kept through a reset gets a line in `KEPT` saying why.
"""

from __future__ import annotations

from collections.abc import Callable

from komoju_server.store import (
    customers,
    events,
    idempotency,
    intents,
    payments,
    secure_tokens,
    sessions,
    subscriptions,
    timers,
    tokens,
    webhooks,
)
from komoju_server.store.base import Write

Eraser = Callable[[str, str], list[Write]]

# Name (as the reset answers it, with the rows erased) -> the writes that erase a merchant's
# rows of one mode, in this order: a table's rows go before the rows they are found through.
ERASED: dict[str, Eraser] = {
    "webhook_attempts": webhooks.erase_attempts,  # found through their deliveries
    "webhook_deliveries": webhooks.erase_deliveries,  # found through their events
    "payments": payments.erase,  # and the payments' list positions
    "sessions": sessions.erase,
    "events": events.erase,  # and the events' list positions
    "subscriptions": subscriptions.erase,
    "timers": timers.erase,
    "idempotency_keys": idempotency.erase,
    "tokens": tokens.erase,
    "secure_tokens": secure_tokens.erase,
    "customers": customers.erase,
    "processor_intents": intents.erase,  # and the processor references
}

# Table -> why a reset leaves it alone.
KEPT: dict[str, str] = {
    "merchants": "the merchant itself: the reset puts its clock back and its maintenance switch off, no more",
    "api_keys": "the merchant's keys: a reset must not lock out the client that asked for it",
    "webhook_endpoints": "settings, not test data: the merchant's receivers keep getting the new events",
    "schema_migrations": "the schema's own ledger: no merchant's data",
    "dashboard_sessions": "who is signed in to the dashboard: a reset from the dashboard must not sign it out",
    "request_log": "the log of the API requests made (the reset's own among them), not test data; it keeps "
    "only the newest rows of each merchant anyway",
}
