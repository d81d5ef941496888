"""The customer resource: payment details kept for later payments, shown only in safe form.

The details themselves (card number, expiry, prepaid number, ...) are sealed in the vault;
what is stored here in the clear is what the API may show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from komoju_server.domain.clock import iso
from komoju_server.domain.documents import Document


@dataclass(slots=True)
class Customer:
    id: str
    merchant_id: str
    mode: str
    created_at: int
    # None for a customer made without payment details (KOMOJU answers `source: null`); a
    # customer-mode session or an update gives it details later.
    method_type: str | None
    details: dict[str, Any] | None  # the safe payment_details
    email: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    currency: str | None = None
    # A Komoju-Scenario given when the customer was made: every payment with it fails so.
    scenario: str | None = None
    version: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "customer",
            "email": self.email,
            "metadata": self.metadata,
            "created_at": iso(self.created_at),
            "payment_details": self.details,
            # KOMOJU's current documentation names the stored details `source`; the 2019
            # schema `payment_details`. Both are answered so clients of either era work.
            "source": self.details,
        }

    def as_embedded(self) -> dict[str, Any]:
        """The customer as KOMOJU embeds it in a subscription: its own record, not the API's
        customer resource (KOMOJU's reference: `id` and `merchant_id` there are its internal
        numeric ids, `uuid` the customer's id; this server has no numeric ids and answers its
        ids, strings, in their place). No updated time is kept: it is the creation time."""
        return {
            "id": self.id,
            "uuid": self.id,
            "merchant_id": self.merchant_id,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
            "email": self.email,
            "currency": self.currency,
            "metadata": self.metadata,
            "locale": None,
            "name": None,
            "phone": None,
            "archived_at": None,
        }

    def to_doc(self) -> str:
        return _DOCUMENT.dumps(self)

    @classmethod
    def from_doc(cls, doc: str | bytes, version: int) -> Customer:
        return _DOCUMENT.loads(doc, version)


_DOCUMENT = Document(Customer)
