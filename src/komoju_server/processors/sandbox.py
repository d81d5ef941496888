"""The test-mode processor: decides outcomes from test inputs and makes realistic slips.

Nothing leaves the machine. Konbini receipts, bank accounts and Pay-easy numbers are
generated in the formats the real networks use; redirect and instructions URLs point at
this server's own pages.
"""

from __future__ import annotations

import secrets
from typing import Any

from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.methods import Family
from komoju_server.processors import test_inputs
from komoju_server.processors.base import Charge, Outcome

BANK = {
    "bank_name": "三井住友銀行",
    "account_type": "普通預金",
    "account_name": "株式会社DEGICA(カブシキガイシャ デジカ)",
}
BRANCHES = ("ひなぎく", "すみれ", "さくら", "つばき", "あやめ", "かえで", "もみじ", "ゆり")
PAY_EASY_BANK_ID = "58191"


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def konbini_slip(store: str, phone: str | None) -> dict[str, Any]:
    """Receipt and confirmation numbers as each chain's payment terminal asks for them."""
    phone_tail = "".join(c for c in phone or "" if c.isdigit())[-4:] or _digits(4)
    if store == "seven-eleven":  # 13-digit payment slip number, nothing else
        return {"receipt": _digits(13), "confirmation_code": None}
    if store == "family-mart":  # company code + 12-digit order number
        return {"receipt": _digits(12), "confirmation_code": "1" + _digits(4)}
    # Lawson, Ministop, Daily Yamazaki, Seicomart: reception number + the phone's last digits
    return {"receipt": _digits(11), "confirmation_code": phone_tail}


class SandboxProcessor:
    name = "sandbox"

    async def charge(self, charge: Charge) -> Outcome:
        if charge.scenario:
            raise ApiError(charge.scenario)
        family = charge.method.family
        if family is Family.CARD:
            return self._card(charge)
        if family is Family.DELAYED:
            return self._delayed(charge)
        if family is Family.PREPAID:
            return self._prepaid(
                charge.method.type, charge.details["prepaid_number"], charge.total, [], charge.method.continuable
            )
        if family is Family.VOUCHER:
            return Outcome("captured")
        return Outcome("authorized", {"redirect_url": f"{charge.base_url}/offsite/{charge.payment_id}"})

    async def top_up(self, payment: Payment, details: dict[str, Any], scenario: str | None) -> Outcome:
        if scenario:
            raise ApiError(scenario)
        used = list(payment.details.get("prepaid_cards") or [])
        return self._prepaid(payment.method_type, details["prepaid_number"], payment.total, used, True)

    async def capture(self, payment: Payment) -> None:
        return None

    async def refund(self, payment: Payment, amount: int) -> None:
        return None

    async def cancel(self, payment: Payment) -> None:
        return None

    # -- families ---------------------------------------------------------------------------

    def _card(self, charge: Charge) -> Outcome:
        number = charge.details["number"]
        brand, failure = test_inputs.CARDS.get(number, (test_inputs.card_brand(number), None))
        if failure:
            raise ApiError(failure)
        return Outcome(
            "captured" if charge.capture else "authorized",
            {"brand": brand, "last_four_digits": number[-4:]},
        )

    def _delayed(self, charge: Charge) -> Outcome:
        instructions = {"instructions_url": f"{charge.base_url}/instructions/{charge.payment_id}"}
        kind = charge.method.type
        if kind == "konbini":
            return Outcome(
                "authorized", {**konbini_slip(charge.details["store"], charge.details.get("phone")), **instructions}
            )
        if kind == "bank_transfer":
            return Outcome(
                "authorized",
                {
                    "order_id": "K" + _digits(10),
                    **BANK,
                    "account_branch_name": secrets.choice(BRANCHES),
                    "account_number": _digits(7),
                    **instructions,
                },
            )
        return Outcome(
            "authorized",
            {  # pay_easy
                "bank_id": PAY_EASY_BANK_ID,
                "customer_id": _digits(20),
                "confirmation_id": _digits(6),
                **instructions,
            },
        )

    def _prepaid(self, kind: str, number: str, total: int, used: list[dict[str, Any]], continuable: bool) -> Outcome:
        failures = test_inputs.PREPAID_FAILURES.get(kind, test_inputs.PREPAID_FAILURES["default"])
        if number in failures:
            raise ApiError(failures[number])
        if number != test_inputs.PREPAID_GOOD:
            raise ApiError("invalid_number")
        paid = sum(card["points"] for card in used)
        points = min(test_inputs.PREPAID_BALANCE, total - paid)
        cards = [*used, {"last_four_digits": number[-4:], "points": points}]
        short = total - paid - points
        if short and not continuable:
            raise ApiError("insufficient_funds")
        return Outcome("pending" if short else "captured", {"short_amount": short, "prepaid_cards": cards})
