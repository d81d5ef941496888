"""The secure token (KOMOJU's `/secure_tokens`): card details that wait for the customer's 3-D
Secure authentication, then pay one payment of the amount and currency they were authenticated
for.

Its `verification_status` moves by ONE table (`MOVES`), only ever out of NEEDS_VERIFY:

    NEEDS_VERIFY --authenticate--> OK       the issuer authenticated the customer
    NEEDS_VERIFY --fail----------> ERRORED  it did not, or the customer cancelled
    SKIPPED                                 no 3-D Secure for this card: payable as made

A payable token (OK or SKIPPED) is used up by the payment it pays for (`used_at`); its
status stays what it was. The card details are sealed in the vault until then (store side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from komoju_server.domain.clock import iso

NEEDS_VERIFY = "NEEDS_VERIFY"
OK = "OK"
ERRORED = "ERRORED"
SKIPPED = "SKIPPED"
STATUSES = (NEEDS_VERIFY, OK, ERRORED, SKIPPED)

PAYABLE = frozenset({OK, SKIPPED})  # may pay one payment


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str


MOVES: dict[str, Move] = {
    "authenticate": Move(frozenset({NEEDS_VERIFY}), OK),
    "fail": Move(frozenset({NEEDS_VERIFY}), ERRORED),
}


def move(action: str, status: str) -> str | None:
    """Where `action` takes a token in `status`, or None when it may not move from there."""
    found = MOVES[action]
    return found.target if status in found.sources else None


# A secure token authenticates an imminent purchase: it is good for a day of its merchant's
# clock, and its card details (CVV included, which the payment needs) are gone with it.
LIFETIME_SECONDS = 86_400

# The query parameter KOMOJU adds to the return_url when it sends the customer back.
RETURN_PARAMETER = "secure_token_id"


@dataclass(frozen=True)
class Authentication:
    """How the card's issuer authenticates its holder: at once (frictionless) or with a
    password page (challenge), and whether it succeeds. A test card decides it in test mode."""

    challenge: bool
    passes: bool


@dataclass
class SecureToken:
    id: str
    merchant_id: str
    mode: str
    status: str
    created_at: int
    expires_at: int
    amount: int
    currency: str
    return_url: str
    authentication_url: str
    brand: str
    last_four_digits: str
    authentication: Authentication | None  # None: SKIPPED, no 3-D Secure for this card
    customer: str | None = None  # made from a customer's stored card
    scenario: str | None = None  # that customer's Komoju-Scenario, which its payments fail with
    used_at: int | None = None

    @property
    def scope(self) -> tuple[str, str]:
        return (self.merchant_id, self.mode)

    @property
    def payable(self) -> bool:
        return self.status in PAYABLE and self.used_at is None

    def to_api(self, created: bool = False) -> dict[str, Any]:
        """The token as KOMOJU answers it. The answer to its creation also names the id
        `secure_token`, as KOMOJU's 3-D Secure guide prints it."""
        shown: dict[str, Any] = {"id": self.id}
        if created:
            shown["secure_token"] = self.id
        shown.update(
            verification_status=self.status,
            authentication_url=self.authentication_url,
            created_at=iso(self.created_at),
        )
        return shown

    def return_location(self) -> str:
        """The merchant's return_url with `secure_token_id` added to its query, the rest of it
        (its own query, its fragment) kept byte for byte."""
        parts = urlsplit(self.return_url)
        added = f"{RETURN_PARAMETER}={quote(self.id, safe='')}"
        query = f"{parts.query}&{added}" if parts.query else added
        return urlunsplit(parts._replace(query=query))

    def doc(self) -> dict[str, Any]:
        """What the store keeps in the clear (no card number, no CVV)."""
        return {
            "amount": self.amount,
            "currency": self.currency,
            "return_url": self.return_url,
            "authentication_url": self.authentication_url,
            "brand": self.brand,
            "last_four_digits": self.last_four_digits,
            "authentication": None
            if self.authentication is None
            else {"challenge": self.authentication.challenge, "passes": self.authentication.passes},
            "customer": self.customer,
            "scenario": self.scenario,
        }

    @classmethod
    def from_doc(
        cls,
        doc: dict[str, Any],
        *,
        id: str,
        merchant_id: str,
        mode: str,
        status: str,
        created_at: int,
        expires_at: int,
        used_at: int | None,
    ) -> SecureToken:
        auth = doc.get("authentication")
        return cls(
            id=id,
            merchant_id=merchant_id,
            mode=mode,
            status=status,
            created_at=created_at,
            expires_at=expires_at,
            amount=int(doc["amount"]),
            currency=str(doc["currency"]),
            return_url=str(doc["return_url"]),
            authentication_url=str(doc["authentication_url"]),
            brand=str(doc["brand"]),
            last_four_digits=str(doc["last_four_digits"]),
            authentication=None if auth is None else Authentication(bool(auth["challenge"]), bool(auth["passes"])),
            customer=doc.get("customer"),
            scenario=doc.get("scenario"),
            used_at=used_at,
        )
