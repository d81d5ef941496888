"""The scenarios `komoju-server trigger` plays through a running server's API: data only.

Each scenario is a list of steps, each an API call (or a move of the merchant's sandbox clock)
that a merchant's server and its customer would make; `trigger.py` plays them over HTTP. A
step may keep its answer under a name; later steps name it in their paths and bodies as
`{name}` (its id). `expect` is each kept object's status once the scenario is over: the runner
reads them back and says so if one is not what it should be.

The inputs are the sandbox's test inputs (processors/test_inputs.py): the test card that is
accepted, the one that is declined, the prepaid card with a 2,000 yen balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DAY = 86_400
WEEK = 7 * DAY

GOOD_CARD = {
    "type": "credit_card",
    "number": "4111111111111111",
    "month": 12,
    "year": 2035,
    "verification_value": "123",
    "name": "Taro Yamada",
    "email": "taro@example.com",
}
DECLINING_CARD = {**GOOD_CARD, "number": "4123111111111059"}  # card_declined
KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.com", "phone": "09012345678"}
BANK_TRANSFER = {
    "type": "bank_transfer",
    "given_name": "Taro",
    "family_name": "Yamada",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "09012345678",
    "email": "taro@example.com",
}
REFUND_ACCOUNT = {  # where a refund request sends the money: half-width kana, as KOMOJU wants
    "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "bank_name": "みずほ銀行",
    "bank_code": "0001",
    "branch_name": "本店",
    "branch_number": "100",
    "account_type": "ordinary",
    "account_number": "1234567",
}
PREPAID_NUMBER = "1111111111111111"  # a 2,000 yen balance, fresh at every use
WEB_MONEY = {"type": "web_money", "prepaid_number": PREPAID_NUMBER, "email": "taro@example.com"}
REDIRECT = {"type": "line_pay", "email": "taro@example.com"}


@dataclass(frozen=True)
class Call:
    """An API call under /api/v1, with the secret key; `{name}` in the path or in a body's
    string values is the id of the object kept under that name."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    keep: str | None = None  # keep the answer (an object with an id) under this name
    status: int = 200  # the HTTP status the call must answer
    says: str = ""  # what the step does, printed as it runs


@dataclass(frozen=True)
class Advance:
    """Moves the merchant's sandbox clock forward, `seconds`, or until just past the time in
    the field `past` = (name, field) of a kept object (read afresh), plus `margin` seconds."""

    seconds: int = 0
    past: tuple[str, str] | None = None
    margin: int = 60
    says: str = ""


Step = Call | Advance


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    steps: tuple[Step, ...]
    expect: dict[str, str]  # kept name -> its status at the end
    moves_clock: bool = False  # it advances the merchant's sandbox clock (every object feels it)
    notes: tuple[str, ...] = field(default_factory=tuple)


def _pay(details: dict[str, Any], amount: int = 1000, status: int = 200, **extra: Any) -> Call:
    return Call(
        "POST",
        "/payments",
        {"amount": amount, "currency": "JPY", "payment_details": details, **extra},
        keep="payment",
        status=status,
        says=f"create a {details['type']} payment of {amount} yen",
    )


def _payment_call(action: str, body: dict[str, Any] | None = None, says: str = "") -> Call:
    return Call("POST", f"/payments/{{payment}}/{action}", body, keep="payment", says=says)


def _sandbox(action: str, says: str) -> Call:
    return Call("POST", f"/sandbox/payments/{{payment}}/{action}", keep="payment", says=says)


def _customer(details: dict[str, Any]) -> Call:
    return Call("POST", "/customers", {"payment_details": details, "email": "taro@example.com"}, keep="customer",
                says="create a customer with a test card")  # fmt: skip


_SUBSCRIBE = Call(
    "POST",
    "/subscriptions",
    {"customer": "{customer}", "amount": 1500, "currency": "JPY", "period": "weekly"},
    keep="subscription",
    says="subscribe the customer weekly, 1,500 yen (the first charge is made now)",
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "card-captured",
            "a card payment captured at once",
            (_pay(GOOD_CARD),),
            {"payment": "captured"},
        ),
        Scenario(
            "card-authorized-captured",
            "a card payment authorized (capture=false), then captured",
            (_pay(GOOD_CARD, capture=False), _payment_call("capture", says="capture it")),
            {"payment": "captured"},
        ),
        Scenario(
            "card-authorized-cancelled",
            "a card payment authorized (capture=false), then cancelled",
            (_pay(GOOD_CARD, capture=False), _payment_call("cancel", says="cancel it")),
            {"payment": "cancelled"},
        ),
        Scenario(
            "card-refunded",
            "a card payment captured, then refunded in full",
            (_pay(GOOD_CARD), _payment_call("refund", says="refund all of it")),
            {"payment": "refunded"},
        ),
        Scenario(
            "card-partially-refunded",
            "a card payment of 1,100 yen captured, then 300 yen of it refunded",
            (_pay(GOOD_CARD), _payment_call("refund", {"amount": 300}, says="refund 300 yen of it")),
            {"payment": "captured"},
        ),
        Scenario(
            "konbini-paid",
            "a Lawson konbini slip, then paid at the store (sandbox complete)",
            (_pay(KONBINI), _sandbox("complete", "the customer pays at the konbini")),
            {"payment": "captured"},
        ),
        Scenario(
            "konbini-refund-requested",
            "a konbini slip paid, a bank refund requested for it, then made (sandbox complete_refund_request)",
            (
                _pay(KONBINI),
                _sandbox("complete", "the customer pays at the konbini"),
                _payment_call("refund_request", REFUND_ACCOUNT, says="ask for a bank refund of all of it"),
                Call(
                    "POST",
                    "/sandbox/payments/{payment}/refund_requests/{payment.refund_request}/complete",
                    keep="payment",
                    says="KOMOJU makes the bank transfer",
                ),
            ),
            {"payment": "refunded"},
        ),
        Scenario(
            "konbini-expired",
            "a konbini slip due by the end of today (Japan time), left unpaid until it expires",
            (
                _pay({**KONBINI, "expiry_days": 0}),
                Advance(past=("payment", "payment_deadline"), says="move the clock past its payment deadline"),
            ),
            {"payment": "expired"},
            moves_clock=True,
        ),
        Scenario(
            "bank-transfer-paid",
            "a bank transfer, then the money arrives (sandbox complete)",
            (_pay(BANK_TRANSFER), _sandbox("complete", "the transfer arrives")),
            {"payment": "captured"},
        ),
        Scenario(
            "web-money-topped-up",
            "a WebMoney payment of 3,300 yen left short by a 2,000 yen card, then topped up with another",
            (
                _pay(WEB_MONEY, amount=3000, status=202),
                Call(
                    "PATCH",
                    "/payments/{payment}",
                    {"payment_details": {"prepaid_number": PREPAID_NUMBER}},
                    keep="payment",
                    says="the customer tops it up with another card",
                ),
            ),
            {"payment": "captured"},
        ),
        Scenario(
            "redirect-approved",
            "a LINE Pay (redirect) payment, approved by the customer (sandbox complete)",
            (_pay(REDIRECT), _sandbox("complete", "the customer approves it at LINE Pay")),
            {"payment": "captured"},
        ),
        Scenario(
            "redirect-declined",
            "a LINE Pay (redirect) payment, declined (sandbox fail)",
            (_pay(REDIRECT), _sandbox("fail", "the customer is refused at LINE Pay")),
            {"payment": "failed"},
        ),
        Scenario(
            "subscription-renewed",
            "a weekly subscription, charged again a week later",
            (
                _customer(GOOD_CARD),
                _SUBSCRIBE,
                Advance(past=("subscription", "next_capture_at"), says="move the clock past the next charge"),
            ),
            {"subscription": "active"},
            moves_clock=True,
        ),
        Scenario(
            "subscription-suspended",
            "a weekly subscription whose card starts declining: retried daily, then suspended",
            (
                _customer(GOOD_CARD),
                _SUBSCRIBE,
                Call(
                    "PATCH",
                    "/customers/{customer}",
                    {"payment_details": DECLINING_CARD},
                    keep="customer",
                    says="the customer's card is replaced by one that is declined",
                ),
                # The charge due in a week fails, then its three daily retries: 10 days in all.
                Advance(seconds=WEEK + 3 * DAY + 60, says="move the clock 10 days: a charge and three retries fail"),
            ),
            {"subscription": "suspended"},
            moves_clock=True,
        ),
    )
}

# Where a kept object is read back, by its `resource`.
RESOURCE_PATHS = {"payment": "/payments", "customer": "/customers", "subscription": "/subscriptions"}
