"""Test-mode inputs and what they do, from KOMOJU's public test-input catalogue.

In test mode the card number decides the outcome; the expiry date and CVV are not checked
against anything, so the document's examples (expiry 01/2025) keep working.
"""

from __future__ import annotations

# card number -> brand (success) or KOMOJU error code (decline)
CARDS: dict[str, tuple[str, str | None]] = {
    "3530111333300000": ("jcb", None),
    "378282246310005": ("american_express", None),
    "4111111111111111": ("visa", None),
    "5555555555554444": ("master", None),
    "30569309025904": ("diners_club", None),
    # 3-D Secure test cards of the current catalogue: v1 payments take no 3-D Secure step,
    # so they simply succeed with their brand.
    "4100000000000100": ("visa", None),
    "5100000000000107": ("master", None),
    "3528000000000106": ("jcb", None),
    "4123111111111000": ("visa", "insufficient_funds"),
    "4123111111111018": ("visa", "exceeds_limit"),
    "4123111111111034": ("visa", "bad_verification_value"),
    "4123111111111042": ("visa", "card_expired"),
    "4123111111111059": ("visa", "card_declined"),
    "4123111111111067": ("visa", "other_invalid"),  # the API document's "Invalid card"
    "4123111111111075": ("visa", "other_invalid"),  # the current catalogue's "Invalid card"
}

PREPAID_BALANCE = 2000
PREPAID_GOOD = "1111111111111111"
# prepaid number -> error code, per method (BitCash has no "used" card and declines on ...113)
PREPAID_FAILURES: dict[str, dict[str, str]] = {
    "default": {
        "e111111111111112": "invalid_number",
        "e111111111111113": "used_number",
        "e111111111111114": "card_declined",
    },
    "bit_cash": {
        "e111111111111112": "invalid_number",
        "e111111111111113": "card_declined",
    },
}

SCENARIO_HEADER = "Komoju-Scenario"
# What the Komoju-Scenario header may force on creation.
SCENARIOS = frozenset(
    {
        "insufficient_funds",
        "used_number",
        "card_declined",
        "invalid_password",
        "bad_verification_value",
        "exceeds_limit",
        "card_expired",
        "invalid_number",
        "invalid_account",
        "restricted_account",
        "other_error",
        "invalid_user_key",
        "other_invalid",
        "gateway_timeout",
        "fraudulent",
        "request_failed",
        "bad_gateway",
    }
)
