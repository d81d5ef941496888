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
    # The 3-D Secure test cards (THREE_D_SECURE below) pay like any good card of their brand
    # when paid inline: a payment made without a secure token takes no 3-D Secure step.
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
    # The older catalogue's fraud card: ActiveMerchant's KOMOJU gateway tests (remote_komoju_test.rb)
    # pay with it and expect the `fraudulent` error code (422, as the API document's table says).
    "4123111111111083": ("visa", "fraudulent"),
}

# 3-D Secure (secure tokens), from KOMOJU's "3Dセキュアを使用したテスト決済" catalogue:
# card number -> (how the issuer authenticates, whether it passes). "frictionless": visiting the
# authentication_url decides at once and goes back to the return_url; "challenge": the customer
# types a password first. Any other card is not enrolled: its secure token is SKIPPED.
THREE_D_SECURE: dict[str, tuple[str, bool]] = {
    "4100000000000100": ("frictionless", True),
    "5100000000000107": ("frictionless", True),
    "3528000000000106": ("frictionless", True),
    "4100000000005000": ("challenge", True),
    "5100000000005007": ("challenge", True),
    "3528000000005006": ("challenge", True),
    "4100000000500000": ("frictionless", False),
    "5100000000500007": ("frictionless", False),
    "3528000000500006": ("frictionless", False),
    "4100000000300005": ("challenge", False),
    "5100000000300002": ("challenge", False),
    "3528000000300001": ("challenge", False),
}
# The challenge page's passwords: this one authenticates a passing card; the catalogue's
# failing password (or any other) fails it, and a failing card fails whatever is typed.
THREE_D_SECURE_PASSWORD = "123456"
THREE_D_SECURE_FAILING_PASSWORD = "111111"

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
