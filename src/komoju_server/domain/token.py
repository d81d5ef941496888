"""The token resource: payment details exchanged for a one-time `tok_...` id.

Only the public part lives here; the details themselves are sealed in the vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from komoju_server.domain.clock import iso

LIFETIME_SECONDS = 30 * 86_400  # "tokens can only be used once and expire after 30 days"


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    merchant_id: str
    mode: str
    created_at: int
    expires_at: int
    details: dict[str, Any]  # the public payment_details: the method's token fields

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": "token",
            "created_at": iso(self.created_at),
            "payment_details": self.details,
        }
