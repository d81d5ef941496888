"""The test-mode processor: decides outcomes from test inputs and makes realistic slips.

Nothing leaves the machine. Konbini receipts, bank accounts and Pay-easy numbers are
generated in the formats the real networks use; redirect and instructions URLs point at
this server's own pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from komoju_server.domain import cards
from komoju_server.domain.errors import ApiError
from komoju_server.domain.secure_token import Authentication
from komoju_server.methods import Family
from komoju_server.processors import test_inputs
from komoju_server.processors.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
    TopUpRequest,
)

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
    """Stateless: a payment's reference is its own id, and every call is decided by its inputs."""

    name = "sandbox"
    remote = False

    @staticmethod
    def scenario(value: str) -> str:
        """A `Komoju-Scenario` header's failure code, or 422 for one the sandbox does not know."""
        if value not in test_inputs.SCENARIOS:
            raise ApiError("invalid_parameter", test_inputs.SCENARIO_HEADER)
        return value

    # -- 3-D Secure (secure tokens) ------------------------------------------------------------

    @staticmethod
    def authentication(number: str) -> Authentication | None:
        """How the issuer of a test card authenticates its holder: the 3-D Secure test cards
        as the catalogue says; any other card is not enrolled (None: 3-D Secure is skipped)."""
        found = test_inputs.THREE_D_SECURE.get(number)
        if found is None:
            return None
        flow, passes = found
        return Authentication(challenge=flow == "challenge", passes=passes)

    @staticmethod
    def challenge_passes(authentication: Authentication, password: str) -> bool:
        """A challenge passes with the passing password, on a card that passes."""
        return authentication.passes and password == test_inputs.THREE_D_SECURE_PASSWORD

    async def charge(self, request: ChargeRequest) -> PaymentResult:
        if request.scenario:
            raise ApiError(request.scenario)
        family = request.method.family
        if family is Family.CARD:
            return self._card(request)
        if family is Family.DELAYED:
            return self._delayed(request)
        if family is Family.PREPAID:
            number = request.details["prepaid_number"]
            return self._prepaid(request, number, request.total, (), request.method.continuable)
        if family is Family.VOUCHER:
            return PaymentResult(request.payment_id, "captured")
        offsite = {"redirect_url": f"{request.base_url}/offsite/{request.payment_id}"}
        return PaymentResult(request.payment_id, "authorized", offsite)

    async def top_up(self, request: TopUpRequest) -> PaymentResult:
        if request.scenario:
            raise ApiError(request.scenario)
        number = request.details["prepaid_number"]
        return self._prepaid(request, number, request.total, request.cards_used, True)

    async def capture(self, request: CaptureRequest) -> PaymentResult:
        return PaymentResult(request.reference, "captured")

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(request.key, request.amount)  # one key, one refund: its reference is the key

    async def cancel(self, request: CancelRequest) -> PaymentResult:
        return PaymentResult(request.reference, "cancelled")

    # -- families ---------------------------------------------------------------------------

    def _card(self, request: ChargeRequest) -> PaymentResult:
        number = request.details["number"]
        brand, failure = test_inputs.CARDS.get(number) or (cards.card_brand(number), None)
        if failure:
            raise ApiError(failure)
        status = "captured" if request.capture else "authorized"
        return PaymentResult(request.payment_id, status, {"brand": brand, "last_four_digits": number[-4:]})

    def _delayed(self, request: ChargeRequest) -> PaymentResult:
        instructions = {"instructions_url": f"{request.base_url}/instructions/{request.payment_id}"}
        kind = request.method.type
        if kind == "konbini":
            return PaymentResult(
                request.payment_id,
                "authorized",
                {**konbini_slip(request.details["store"], request.details.get("phone")), **instructions},
            )
        if kind == "bank_transfer":
            return PaymentResult(
                request.payment_id,
                "authorized",
                {
                    "order_id": "K" + _digits(10),
                    **BANK,
                    "account_branch_name": secrets.choice(BRANCHES),
                    "account_number": _digits(7),
                    **instructions,
                },
            )
        return PaymentResult(
            request.payment_id,
            "authorized",
            {  # pay_easy
                "bank_id": PAY_EASY_BANK_ID,
                "customer_id": _digits(20),
                "confirmation_id": _digits(6),
                **instructions,
            },
        )

    def _prepaid(
        self,
        request: ChargeRequest | TopUpRequest,
        number: str,
        total: int,
        used: Sequence[Mapping[str, Any]],
        continuable: bool,
    ) -> PaymentResult:
        kind = request.method.type
        failures = test_inputs.PREPAID_FAILURES.get(kind, test_inputs.PREPAID_FAILURES["default"])
        if number in failures:
            raise ApiError(failures[number])
        if number != test_inputs.PREPAID_GOOD:
            raise ApiError("invalid_number")
        paid = sum(card["points"] for card in used)
        points = min(test_inputs.PREPAID_BALANCE, total - paid)
        cards_ = [*used, {"last_four_digits": number[-4:], "points": points}]
        short = total - paid - points
        if short and not continuable:
            raise ApiError("insufficient_funds")
        status = "pending" if short else "captured"
        return PaymentResult(request.payment_id, status, {"short_amount": short, "prepaid_cards": cards_})
