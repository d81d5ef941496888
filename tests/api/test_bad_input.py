"""Bad input on every endpoint: every refusal is KOMOJU's envelope with the right code, status
and param; never a 500, an HTML page or a stack trace, and a refused create writes nothing.

The cases are tables: for each endpoint, each field it takes (top level and nested) gets
values of the wrong shape (null, booleans, numbers of every size and sign, empty, long,
non-ASCII and NUL strings, arrays, hashes) as JSON, and Rails-style form garbage; then
malformed ids in paths, list query garbage, wrong content types, oversized bodies and
garbage headers. A test runs one table row (one field) and reports every value that got a
wrong answer at once. The module runs on its own merchant, made once per backend.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from komoju_server.domain.errors import ERRORS, render_message
from tests.api.payment_support import well_formed_details
from tests.inprocess import InProcessServer

ENVELOPE = {"code", "message", "param"}

CARD = {"type": "credit_card", "number": "4111111111111111", "month": "12", "year": "2030", "verification_value": "123"}
KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.com"}
WEB_MONEY = {"type": "web_money", "prepaid_number": "1111111111111111"}  # 2,000 yen: a 3,000 yen payment is short
BANK_TRANSFER = {
    "type": "bank_transfer",
    "given_name": "Taro",
    "family_name": "Yamada",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "090-1234-5678",
    "email": "taro@example.com",
}
SECURE_TOKEN = {"amount": 1000, "currency": "JPY", "return_url": "https://example.com/done", "payment_details": CARD}
HAPPY_MONEY = {"type": "happy_money", "happy_money_id": "1234", "happy_money_password": "secret"}
BANK = {
    "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "bank_name": "Mizuho",
    "bank_code": "0001",
    "branch_name": "Tokyo",
    "branch_number": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
}


@dataclass(frozen=True)
class Raw:
    """A JSON value written as is: numbers no double holds, escapes no Python str can carry."""

    text: str


LONG = "x" * 100_000
NUL = ["\u0000", "a\u0000b"]
HUGE, NEG_HUGE = Raw("1e400"), Raw("-1e400")
BIG_INT = Raw("1" + "0" * 400)
MANY_DIGITS = "9" * 5_000  # past Python's 4,300-digit limit of int()
ABSENT = [None, ""]
# Text fields take strings and numbers; nothing else.
NOT_TEXT = [True, False, [], ["x"], {}, {"k": "v"}]
NOT_AMOUNT = [
    *NOT_TEXT,
    *["abc", "1e3", "0x10", "１０", "1,000", LONG],  # not plain decimals
    *[-1, "-1", -0.5, NEG_HUGE],  # negative
    *[1.5, "1.5"],  # a fraction of the lowest denomination
    *[HUGE, BIG_INT, 1e300, MANY_DIGITS, 10_000_000],  # too much
    *NUL,
]
BAD_METADATA = [True, False, 1, "x", [], ["x"], [{"k": "v"}], {f"k{i}": "v" for i in range(51)}]
BAD_URL = [*NOT_TEXT, 1, "ftp://example.com", "not a url", "http://", "//example.com", "http://a b", LONG, *NUL]


# -- the world: one merchant of the module's own, and an object of each kind ------------------


@dataclass
class World:
    client: httpx.Client
    public: httpx.Client
    ids: dict[str, str]
    mark: int  # where the server's output stood when the module began


def _made(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(server: InProcessServer) -> Iterator[World]:
    mark = len(server.output)
    keys = server.new_merchant()
    with server.client(keys["test_secret_key"]) as client, server.client(keys["test_publishable_key"]) as public:
        card = _made(client.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD}))
        held = {"amount": 1000, "currency": "JPY", "capture": False, "payment_details": CARD}
        authorized = _made(client.post("/payments", json=held))
        slip = _made(client.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": KONBINI}))
        _made(client.post(f"/sandbox/payments/{slip['id']}/complete"))
        short = {"amount": 3000, "currency": "JPY", "payment_details": WEB_MONEY}
        pending = _made(client.post("/payments", json=short), 202)
        customer = _made(client.post("/customers", json={"payment_details": CARD}))
        monthly = {"customer": customer["id"], "amount": 100, "currency": "JPY", "period": "monthly"}
        subscription = _made(client.post("/subscriptions", json=monthly))
        endpoint = {"url": "http://127.0.0.1:9/hook", "secret_token": "s", "events": ["ping"]}
        webhook = _made(client.post("/webhooks", json=endpoint))
        event = _made(client.get("/events"))["data"][0]
        ids = {
            "captured": card["id"],
            "authorized": authorized["id"],
            "slip": slip["id"],
            "pending": pending["id"],
            "customer": customer["id"],
            "subscription": subscription["id"],
            "webhook": webhook["id"],
            "event": event["id"],
        }
        yield World(client, public, ids, mark)


# -- what every refusal must look like --------------------------------------------------------


def expected_message(code: str, param: str | None) -> str | None:
    message = render_message(code, {"param": param})
    return None if "%{" in message else message


def wrong(
    response: httpx.Response,
    code: str | None,
    param: str | None = None,
    status: int | None = None,
    message: str | None = None,
) -> str | None:
    """What is wrong with an answer that should refuse with `code` on `param` (None: succeed),
    with KOMOJU's message for the code or, when given, `message`."""
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        return f"{response.status_code} not JSON ({content_type}): {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} undecodable: {response.text[:200]}"
    if code is None:
        return None if response.status_code < 300 else f"{response.status_code}: {str(body)[:300]}"
    if status is None:
        status = ERRORS[code][0]
    if response.status_code < 300:
        return f"accepted ({response.status_code}): {str(body)[:200]}"
    if not isinstance(body, dict) or set(body) != {"error"} or set(body["error"]) - {"details"} != ENVELOPE:
        return f"{response.status_code} not the envelope: {str(body)[:200]}"
    if "details" in body["error"] and not well_formed_details(body["error"]["details"]):
        return f"{response.status_code} details not of the vocabulary: {str(body)[:200]}"
    error = body["error"]
    if (response.status_code, error["code"], error["param"]) != (status, code, param):
        got = f"{response.status_code} {error['code']}/{error['param']!r}"
        return f"{got}, not {status} {code}/{param!r}: {str(error['message'])[:100]}"
    message = message or expected_message(code, param)
    if not isinstance(error["message"], str) or not error["message"] or message not in (None, error["message"]):
        return f"message {str(error['message'])[:100]!r}, not {message!r}"
    return None


def short(value: Any) -> str:
    text = repr(value.text if isinstance(value, Raw) else value)
    return text if len(text) < 40 else f"{text[:30]}...({len(text)} chars)"


def settle(failures: list[str]) -> None:
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)


# -- JSON bodies: fields of the wrong shape -----------------------------------------------------


def encode(body: dict[str, Any]) -> bytes:
    raws: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            marker = f"@raw{len(raws)}@"
            raws[marker] = value.text
            return marker
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(body), ensure_ascii=False)
    for marker, raw in raws.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode("utf-8")


def with_field(base: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """`base` with `field` (`a` or `a[b]`) set to `value`."""
    body = json.loads(json.dumps(base))
    head, _, rest = field.partition("[")
    if not rest:
        body[head] = value
    else:
        inner = body.get(head)
        body[head] = {**(inner if isinstance(inner, dict) else {}), rest.rstrip("]"): value}
    return body


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {captured}, {customer}, ... from World.ids
    base: dict[str, Any]  # a body that succeeds (or would, but for the field under test)
    public: bool = False  # sent with the publishable key


ENDPOINTS = {
    "create card payment": Endpoint("POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": CARD}),
    "create konbini payment": Endpoint(
        "POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": KONBINI}
    ),
    "create customer payment": Endpoint("POST", "/payments", {"amount": 1000, "currency": "JPY"}),
    "create bank transfer payment": Endpoint(
        "POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": BANK_TRANSFER}
    ),
    "create prepaid payment": Endpoint(
        "POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": WEB_MONEY}
    ),
    "create carrier payment": Endpoint(
        "POST",
        "/payments",
        {"amount": 1000, "currency": "JPY", "payment_details": {"type": "japan_mobile", "brand": "au"}},
    ),
    "create voucher payment": Endpoint(
        "POST", "/payments", {"amount": 1000, "currency": "KRW", "payment_details": HAPPY_MONEY}
    ),
    "update payment": Endpoint("PATCH", "/payments/{captured}", {}),
    "top up payment": Endpoint("PATCH", "/payments/{pending}", {}),
    "capture": Endpoint("POST", "/payments/{authorized}/capture", {}),
    "cancel": Endpoint("POST", "/payments/{authorized}/cancel", {}),
    "refund": Endpoint("POST", "/payments/{captured}/refund", {}),
    "refund request": Endpoint("POST", "/payments/{slip}/refund_request", BANK),
    "create token": Endpoint("POST", "/tokens", {"payment_details": CARD}),
    "create token (publishable)": Endpoint("POST", "/tokens", {"payment_details": KONBINI}, public=True),
    "create secure token": Endpoint("POST", "/secure_tokens", SECURE_TOKEN),
    "create secure token (publishable)": Endpoint("POST", "/secure_tokens", SECURE_TOKEN, public=True),
    "create customer secure token": Endpoint(
        "POST", "/secure_tokens", {k: v for k, v in SECURE_TOKEN.items() if k != "payment_details"}
    ),
    "create customer": Endpoint("POST", "/customers", {"payment_details": CARD}),
    "update customer": Endpoint("PATCH", "/customers/{customer}", {}),
    "create subscription": Endpoint(
        "POST", "/subscriptions", {"customer": "{customer}", "amount": 100, "currency": "JPY", "period": "monthly"}
    ),
    "create webhook": Endpoint("POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "secret_token": "s"}),
    "redeliver": Endpoint("POST", "/events/{event}/redeliver", {}),
    "advance clock": Endpoint("POST", "/sandbox/clock/advance", {}),
    "maintenance": Endpoint("POST", "/sandbox/maintenance", {}),
}

# (endpoint, field, values, code, param): each value, set on the endpoint's base body, is
# refused with `code` naming `param` (the field itself when None).
Row = tuple[str, str, list[Any], str, str | None]

METADATA_ROWS: list[tuple[str, list[Any], str, str | None]] = [
    ("metadata", BAD_METADATA, "invalid_parameter", None),
    (
        "metadata",
        [
            {"k": "x" * 2001},
            {"k": "a\u0000b"},
            {"k": 2**63},  # beyond a 64-bit integer (larger ones are read as floats: kept)
        ],
        "invalid_parameter",
        "metadata[k]",
    ),
    ("metadata", [{"x" * 31: "v"}], "invalid_parameter", f"metadata[{'x' * 31}]"),
    ("metadata", [{"": "v"}], "invalid_parameter", "metadata[]"),
]
TEXT_255 = [*NOT_TEXT, "x" * 256, LONG, *NUL]
CARD_DETAIL_ROWS: list[tuple[str, list[Any], str, str | None]] = [
    (
        "payment_details[type]",
        [True, 1, [], ["credit_card"], {}, "bogus", "CREDIT_CARD", LONG],
        "invalid_payment_type",
        None,
    ),
    ("payment_details[type]", ABSENT, "missing_parameter", None),
    ("payment_details[type]", NUL, "invalid_parameter", None),
    (
        "payment_details[number]",
        [
            *NOT_TEXT,
            1.5,
            "4111111111111112",
            "1234",
            "4111-1111-1111-111x",
            "４１１１１１１１１１１１１１１１",
            LONG,
            MANY_DIGITS,
            *NUL,
        ],
        "invalid_parameter",
        None,
    ),
    ("payment_details[number]", ABSENT, "missing_parameter", None),
    (
        "payment_details[month]",
        [*NOT_TEXT, 0, 13, -1, 1.5, "1.5", "x", "１", MANY_DIGITS, HUGE, LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    ("payment_details[month]", ABSENT, "missing_parameter", None),
    (
        "payment_details[year]",
        [*NOT_TEXT, 2101, -1, 1.5, "20x5", MANY_DIGITS, BIG_INT, *NUL],
        "invalid_parameter",
        None,
    ),
    (
        "payment_details[verification_value]",
        [*NOT_TEXT, 1.5, "12", "12345", "abc", "１２３", *NUL],
        "invalid_parameter",
        None,
    ),
    ("payment_details[email]", [*NOT_TEXT, 123, "no-at", "a@b", LONG, *NUL], "invalid_parameter", None),
    ("payment_details[name]", [*NOT_TEXT, 1.5, "x" * 256, LONG, *NUL], "invalid_parameter", None),
]
FRAUD = "fraud_details"
ROWS: list[Row] = [
    # POST /payments with a card
    ("create card payment", "amount", NOT_AMOUNT + [0], "invalid_parameter", None),
    ("create card payment", "amount", ABSENT, "missing_parameter", None),
    (
        "create card payment",
        "currency",
        [*NOT_TEXT, 392, "XXX", "jpy1", "ＪＰＹ", "日本円", LONG],
        "invalid_currency",
        None,
    ),
    ("create card payment", "currency", ABSENT, "missing_parameter", None),
    ("create card payment", "currency", NUL, "invalid_parameter", None),
    (
        "create card payment",
        "tax",
        [*NOT_TEXT, "abc", -1, "-1", "1e3", 10_000_000, HUGE, NEG_HUGE, *NUL],
        "invalid_parameter",
        None,
    ),
    ("create card payment", "payment_details", [True, False, 0, 1.5, [], ["x"], [CARD]], "invalid_parameter", None),
    ("create card payment", "payment_details", ["tok_nothing", "x", "日本語", LONG], "invalid_token", None),
    ("create card payment", "payment_details", NUL, "invalid_parameter", None),
    ("create card payment", "payment_details", ABSENT, "missing_parameter", None),
    (
        "create card payment",
        "payment_details",
        [{}, {"number": "4111111111111111"}],
        "missing_parameter",
        "payment_details[type]",
    ),
    *(("create card payment", *row) for row in CARD_DETAIL_ROWS),
    ("create card payment", "description", TEXT_255, "invalid_parameter", None),
    ("create card payment", "external_order_num", TEXT_255, "invalid_parameter", None),
    *(("create card payment", *row) for row in METADATA_ROWS),
    ("create card payment", "locale", [*NOT_TEXT, 1, "fr", "JA", LONG, *NUL], "invalid_parameter", None),
    ("create card payment", "return_url", [*BAD_URL, "http://x.y/" + "a" * 2000], "invalid_parameter", None),
    ("create card payment", "cancel_url", BAD_URL, "invalid_parameter", None),
    ("create card payment", FRAUD, [True, 1, "x", [], ["x"]], "invalid_parameter", None),
    ("create card payment", FRAUD, [{"zzz": "1"}], "invalid_parameter", "fraud_details[zzz]"),
    (
        "create card payment",
        FRAUD,
        [{"customer_ip": "999.0.0.1"}, {"customer_ip": []}, {"customer_ip": True}, {"customer_ip": "1.1.1.1\u0000"}],
        "invalid_parameter",
        "fraud_details[customer_ip]",
    ),
    ("create card payment", FRAUD, [{"customer_email": "a@b.co"}], "missing_parameter", "fraud_details[customer_ip]"),
    (
        "create card payment",
        FRAUD,
        [{"customer_ip": "127.0.0.1", "customer_email": "nope"}],
        "invalid_parameter",
        "fraud_details[customer_email]",
    ),
    (
        "create card payment",
        FRAUD,
        [{"customer_id": {}}, {"customer_id": "x" * 2001}],
        "invalid_parameter",
        "fraud_details[customer_id]",
    ),
    (
        "create card payment",
        FRAUD,
        [{"customer_ip": "127.0.0.1", "browser_user_agent": ["x"]}],
        "invalid_parameter",
        "fraud_details[browser_user_agent]",
    ),
    ("create card payment", "capture", [[], {}, "maybe", 2, 1.5, LONG, *NUL], "invalid_parameter", None),
    (
        "create card payment",
        "webhooks",
        [True, 1, "ftp://x.y", "x", ["not a url"], [1], [{}], [[]], [LONG], ["http://a\u0000b"]],
        "invalid_parameter",
        None,
    ),
    # POST /payments with konbini details
    (
        "create konbini payment",
        "payment_details[store]",
        [*NOT_TEXT, 7, "nowhere", "LAWSON", LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    ("create konbini payment", "payment_details[store]", ABSENT, "missing_parameter", None),
    (
        "create konbini payment",
        "payment_details[phone]",
        [*NOT_TEXT, "123", "abc", LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    (
        "create konbini payment",
        "payment_details[expiry_days]",
        [*NOT_TEXT, 60, -1, 1.5, "x", MANY_DIGITS, *NUL],
        "invalid_parameter",
        None,
    ),
    ("create konbini payment", "payment_details[email]", ABSENT, "missing_parameter", None),
    # POST /payments with other methods' details
    *(
        (
            "create bank transfer payment",
            f"payment_details[{name}]",
            [*NOT_TEXT, "tarō", "ﾀﾛｳ1", "x" * 256, *NUL],
            "invalid_parameter",
            None,
        )
        for name in ("given_name_kana", "family_name_kana")
    ),
    ("create bank transfer payment", "payment_details[family_name]", TEXT_255, "invalid_parameter", None),
    (
        "create bank transfer payment",
        "payment_details[phone]",
        [*NOT_TEXT, 1.5, "12-34", LONG],
        "invalid_parameter",
        None,
    ),
    (
        "create bank transfer payment",
        "payment_details[expiry_days]",
        [13, 60, "x", MANY_DIGITS],
        "invalid_parameter",
        None,
    ),
    *(
        ("create bank transfer payment", f"payment_details[{name}]", ABSENT, "missing_parameter", None)
        for name in BANK_TRANSFER
        if name != "type"
    ),
    (
        "create prepaid payment",
        "payment_details[prepaid_number]",
        [*NOT_TEXT, 1.5, "x", "1" * 17, "１" * 16, LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    ("create prepaid payment", "payment_details[prepaid_number]", ABSENT, "missing_parameter", None),
    (
        "create carrier payment",
        "payment_details[brand]",
        [*NOT_TEXT, 1, "AU", "do como", "\u00e1u", *NUL],
        "invalid_parameter",
        None,
    ),
    ("create carrier payment", "payment_details[return_url]", BAD_URL, "invalid_parameter", None),
    (
        "create voucher payment",
        "payment_details[happy_money_id]",
        [*NOT_TEXT, "x" * 21, LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    (
        "create voucher payment",
        "payment_details[happy_money_password]",
        [*NOT_TEXT, 1.5, "x" * 51, *NUL],
        "invalid_parameter",
        None,
    ),
    # POST /payments with a stored customer
    (
        "create customer payment",
        "customer",
        [True, 1, [], {}, "nope", "ＡＢＣ", "../x", LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    ("create customer payment", "customer", ABSENT, "missing_parameter", "payment_details"),
    # PATCH /payments/:id
    ("update payment", "description", TEXT_255, "invalid_parameter", None),
    *(("update payment", *row) for row in METADATA_ROWS),
    ("update payment", "payment_details", [True, "x", WEB_MONEY], "invalid_parameter", None),
    ("top up payment", "payment_details", [True, 1, [], ["x"]], "invalid_parameter", None),
    ("top up payment", "payment_details", ["tok_nothing", LONG], "invalid_token", None),
    ("top up payment", "payment_details", NUL, "invalid_parameter", None),
    (
        "top up payment",
        "payment_details",
        [{"type": "konbini"}, {"type": "nanaco", "prepaid_number": "1111111111111111"}],
        "invalid_parameter",
        "payment_details[type]",
    ),
    ("top up payment", "payment_details", [{"type": "bogus"}], "invalid_payment_type", "payment_details[type]"),
    (
        "top up payment",
        "payment_details[prepaid_number]",
        [*NOT_TEXT, "x", "1" * 17, LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    (
        "top up payment",
        "payment_details",
        [{}, {"email": "a@b.co"}],
        "missing_parameter",
        "payment_details[prepaid_number]",
    ),
    # POST /payments/:id/capture (the payment is authorized for 1,000 + 100 tax)
    ("capture", "amount", NOT_AMOUNT, "invalid_parameter", None),
    ("capture", "amount", [0, "0", 1_001, "1001", 9_999_999], "not_capturable", None),
    (
        "capture",
        "tax",
        [*NOT_TEXT, "abc", -1, "-1", "1e3", 10_000_000, HUGE, NEG_HUGE, *NUL],
        "invalid_parameter",
        None,
    ),
    ("capture", "tax", [101, "100.5", 9_999_999], "not_capturable", None),
    # POST /payments/:id/refund
    ("refund", "amount", NOT_AMOUNT, "invalid_parameter", None),
    ("refund", "amount", [0, "0", 1_000_000], "not_refundable", None),
    ("refund", "description", TEXT_255, "invalid_parameter", None),
    # POST /payments/:id/refund_request
    ("refund request", "amount", NOT_AMOUNT, "invalid_parameter", None),
    ("refund request", "amount", [0, 1_000_000], "not_refundable", None),
    (
        "refund request",
        "customer_name",
        [*NOT_TEXT, "山田太郎", "yamada", "ｱ" * 49, LONG, *NUL],
        "invalid_parameter",
        None,
    ),
    ("refund request", "bank_name", [*NOT_TEXT, "x" * 65, LONG, *NUL], "invalid_parameter", None),
    (
        "refund request",
        "bank_code",
        [*NOT_TEXT, "123", "12345", "abcd", "１２３４", MANY_DIGITS, *NUL],
        "invalid_parameter",
        None,
    ),
    ("refund request", "branch_name", [*NOT_TEXT, "x" * 65, *NUL], "invalid_parameter", None),
    ("refund request", "branch_number", [*NOT_TEXT, "12", "1234", "abc", *NUL], "invalid_parameter", None),
    ("refund request", "account_type", [*NOT_TEXT, 1, "current", "Ordinary", LONG, *NUL], "invalid_parameter", None),
    ("refund request", "account_number", [*NOT_TEXT, "123456789", "12a4", "１２", *NUL], "invalid_parameter", None),
    *(("refund request", name, ABSENT, "missing_parameter", None) for name in BANK),
    ("refund request", "description", TEXT_255, "invalid_parameter", None),
    # POST /tokens
    ("create token", "payment_details", [True, 1, [], ["x"], "x", "tok_x", LONG, *NUL], "invalid_parameter", None),
    ("create token", "payment_details", ABSENT, "missing_parameter", None),
    ("create token", "payment_details", [{}], "missing_parameter", "payment_details[type]"),
    *(("create token", *row) for row in CARD_DETAIL_ROWS[:5]),
    ("create token", "currency", [*NOT_TEXT, 1, "XXX", LONG], "invalid_currency", None),
    ("create token", "currency", NUL, "invalid_parameter", None),
    ("create token (publishable)", "payment_details[store]", [*NOT_TEXT, "nowhere", *NUL], "invalid_parameter", None),
    ("create token (publishable)", "currency", ["USD", "XXX", True], "invalid_currency", None),
    # POST /secure_tokens
    ("create secure token", "amount", NOT_AMOUNT + [0], "invalid_parameter", None),
    ("create secure token", "amount", ABSENT, "missing_parameter", None),
    ("create secure token", "currency", [*NOT_TEXT, 392, "XXX", "ＪＰＹ", LONG], "invalid_currency", None),
    ("create secure token", "currency", ABSENT, "missing_parameter", None),
    ("create secure token", "currency", NUL, "invalid_parameter", None),
    (
        "create secure token",
        "return_url",
        [*NOT_TEXT, 1, "not a url", "http://", "//example.com", "http://a b", "javascript://x%0aalert(1)", "data://x"],
        "invalid_parameter",
        None,
    ),
    ("create secure token", "return_url", [LONG, "http://x.y/" + "a" * 2000, *NUL], "invalid_parameter", None),
    ("create secure token", "return_url", ABSENT, "missing_parameter", None),
    ("create secure token", "payment_details", [True, False, 0, 1.5, [], ["x"], [CARD]], "invalid_parameter", None),
    ("create secure token", "payment_details", ["tok_nothing", "x", "日本語", LONG], "invalid_token", None),
    ("create secure token", "payment_details", NUL, "invalid_parameter", None),
    ("create secure token", "payment_details", ABSENT, "missing_parameter", None),
    ("create secure token", "payment_details", [KONBINI, WEB_MONEY], "invalid_payment_type", "payment_details[type]"),
    *(("create secure token", *row) for row in CARD_DETAIL_ROWS),
    ("create customer secure token", "customer", [True, 1, [], {}, "nope", LONG, *NUL], "invalid_parameter", None),
    ("create secure token (publishable)", "amount", [0, "x", 10_000_000], "invalid_parameter", None),
    ("create secure token (publishable)", "return_url", ["javascript://x", []], "invalid_parameter", None),
    # POST /customers
    ("create customer", "payment_details", [True, 1, [], ["x"]], "invalid_parameter", None),
    ("create customer", "payment_details", ["x", "tok_x", LONG], "invalid_token", None),
    ("create customer", "payment_details", [{}], "missing_parameter", "payment_details[type]"),
    *(("create customer", *row) for row in CARD_DETAIL_ROWS[:7]),
    ("create customer", "email", [*NOT_TEXT, 123, "nope", "x" * 300 + "@a.co", LONG, *NUL], "invalid_parameter", None),
    *(("create customer", *row) for row in METADATA_ROWS),
    ("create customer", "currency", [*NOT_TEXT, 1, "XXX", LONG], "invalid_currency", None),
    ("create customer", "currency", NUL, "invalid_parameter", None),
    # PATCH /customers/:id
    ("update customer", "payment_details", [True, 1, [], ["x"], *NUL], "invalid_parameter", None),
    ("update customer", "payment_details", ["x", "tok_x"], "invalid_token", None),
    ("update customer", "payment_details", [{}], "missing_parameter", "payment_details[type]"),
    (
        "update customer",
        "payment_details",
        [{"type": "credit_card", "number": "1", "month": "1", "year": "2030"}],
        "invalid_parameter",
        "payment_details[number]",
    ),
    ("update customer", "email", [*NOT_TEXT, 123, "nope", LONG, *NUL], "invalid_parameter", None),
    *(("update customer", *row) for row in METADATA_ROWS),
    ("update customer", "currency", [*NOT_TEXT, 1, "XXX"], "invalid_currency", None),
    # POST /subscriptions
    ("create subscription", "customer", [True, 1, [], {}, "nope", "日本", LONG, *NUL], "invalid_parameter", None),
    ("create subscription", "customer", ABSENT, "missing_parameter", None),
    ("create subscription", "amount", NOT_AMOUNT + [0], "invalid_parameter", None),
    ("create subscription", "amount", ABSENT, "missing_parameter", None),
    ("create subscription", "currency", [*NOT_TEXT, 1, "XXX", LONG], "invalid_currency", None),
    ("create subscription", "currency", ABSENT, "missing_parameter", None),
    ("create subscription", "period", [*NOT_TEXT, 1, "daily", "Monthly", LONG, *NUL], "invalid_parameter", None),
    ("create subscription", "period", ABSENT, "missing_parameter", None),
    *(("create subscription", *row) for row in METADATA_ROWS),
    # POST /webhooks
    ("create webhook", "url", BAD_URL, "invalid_parameter", None),
    ("create webhook", "url", ABSENT, "missing_parameter", None),
    ("create webhook", "secret_token", [True, 1, [], {}, "x" * 256, LONG, *NUL], "invalid_parameter", None),
    ("create webhook", "secret_token", ABSENT, "missing_parameter", None),
    (
        "create webhook",
        "events",
        [True, 1, "bogus", [], ["bogus"], [1], [[]], [{}], {}, ["payment.captured", "bogus"], *NUL],
        "invalid_parameter",
        None,
    ),
    # the sandbox
    (
        "advance clock",
        "seconds",
        [*NOT_TEXT, 0, -1, 1.5, "1.5", "abc", "１", 366 * 86_400 + 1, MANY_DIGITS, HUGE, NEG_HUGE, 1e300, *NUL],
        "invalid_parameter",
        None,
    ),
    ("advance clock", "seconds", ABSENT, "missing_parameter", None),
    ("maintenance", "enabled", ["maybe", 2, 1.5, [], {}, LONG, *NUL], "invalid_parameter", None),
    ("maintenance", "enabled", ABSENT, "missing_parameter", None),
]


def _row_id(row: Row) -> str:
    return f"{row[0]}:{row[1]}:{row[3]}:{(row[4] or '')[:40]}"


def _path(endpoint: Endpoint, world: World) -> str:
    return endpoint.path.format(**world.ids)


def _base(endpoint: Endpoint, world: World) -> dict[str, Any]:
    return {k: v.format(**world.ids) if isinstance(v, str) and "{" in v else v for k, v in endpoint.base.items()}


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_json_fields_of_the_wrong_shape_are_refused_by_name(world, row: Row):
    name, field, values, code, param = row
    endpoint = ENDPOINTS[name]
    client = world.public if endpoint.public else world.client
    base = _base(endpoint, world)
    failures = []
    for value in values:
        body = encode(with_field(base, field, value))
        response = client.request(
            endpoint.method, _path(endpoint, world), content=body, headers={"Content-Type": "application/json"}
        )
        problem = wrong(response, code, param or field)
        if problem:
            failures.append(f"{field}={short(value)}: {problem}")
    settle(failures)


# -- form bodies ------------------------------------------------------------------------------


def form(data: dict[str, Any], prefix: str = "") -> list[str]:
    parts: list[str] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            parts += form(value, name)
        else:
            parts.append(f"{quote(name, safe='[]')}={quote(str(value), safe='')}")
    return parts


# (endpoint, field, code for `field[]=x`, code for `field[k]=x` (None: not a wrong shape there))
FORM_FIELDS: list[tuple[str, str, str, str | None]] = [
    ("create card payment", "amount", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "currency", "invalid_currency", "invalid_currency"),
    ("create card payment", "tax", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "description", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "external_order_num", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "locale", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "return_url", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "capture", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "webhooks", "invalid_parameter", "invalid_parameter"),
    ("create card payment", "metadata", "invalid_parameter", None),
    ("create card payment", "payment_details", "invalid_parameter", None),
    ("create card payment", "payment_details[number]", "invalid_parameter", "invalid_parameter"),
    ("create konbini payment", "payment_details[store]", "invalid_parameter", "invalid_parameter"),
    ("update payment", "description", "invalid_parameter", "invalid_parameter"),
    ("capture", "amount", "invalid_parameter", "invalid_parameter"),
    ("capture", "tax", "invalid_parameter", "invalid_parameter"),
    ("refund", "amount", "invalid_parameter", "invalid_parameter"),
    ("refund request", "bank_code", "invalid_parameter", "invalid_parameter"),
    ("refund request", "account_type", "invalid_parameter", "invalid_parameter"),
    ("create token", "currency", "invalid_currency", "invalid_currency"),
    ("create secure token", "amount", "invalid_parameter", "invalid_parameter"),
    ("create secure token", "return_url", "invalid_parameter", "invalid_parameter"),
    ("create secure token", "payment_details[number]", "invalid_parameter", "invalid_parameter"),
    ("create customer", "email", "invalid_parameter", "invalid_parameter"),
    ("update customer", "email", "invalid_parameter", "invalid_parameter"),
    ("create subscription", "period", "invalid_parameter", "invalid_parameter"),
    ("create subscription", "customer", "invalid_parameter", "invalid_parameter"),
    ("create webhook", "url", "invalid_parameter", "invalid_parameter"),
    ("create webhook", "events", "invalid_parameter", "invalid_parameter"),
    ("advance clock", "seconds", "invalid_parameter", "invalid_parameter"),
    ("maintenance", "enabled", "invalid_parameter", "invalid_parameter"),
]
# Undecodable whatever the endpoint: 400 bad_request.
MALFORMED_FORMS = [
    "a=%ff%fe",
    "a=%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "a[=x",
    "a]=x",
    "[a]=x",
    "a=1&a[b]=2",
    "a[b]=1&a=2",
    "a[]=1&a[b]=2",
    "a%00=1",
]


def _without(base: dict[str, Any], field: str) -> dict[str, Any]:
    body = json.loads(json.dumps(base))
    head, _, rest = field.partition("[")
    if rest and isinstance(body.get(head), dict):
        body[head].pop(rest.rstrip("]"), None)
    else:
        body.pop(head, None)
    return body


@pytest.mark.parametrize("case", FORM_FIELDS, ids=lambda case: f"{case[0]}:{case[1]}")
def test_form_fields_of_the_wrong_shape_are_refused_by_name(world, case):
    name, field, list_code, hash_code = case
    endpoint = ENDPOINTS[name]
    rest = form(_without(_base(endpoint, world), field))
    tries = [(f"{field}[]=x", list_code), (f"{field}[k]=x", hash_code), (f"{field}=%00", "invalid_parameter")]
    if "[" not in field:
        tries.append((f"{field}[]=a&{field}[]=b", list_code))
    failures = []
    for fragment, code in tries:
        if code is None:
            continue
        response = world.client.request(
            endpoint.method,
            _path(endpoint, world),
            content="&".join([*rest, fragment]).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        problem = wrong(response, code, field)
        if problem:
            failures.append(f"{fragment}: {problem}")
    settle(failures)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_undecodable_forms_are_bad_requests_everywhere(world, name: str):
    endpoint = ENDPOINTS[name]
    client = world.public if endpoint.public else world.client
    rest = form(_base(endpoint, world))
    failures = []
    for fragment in MALFORMED_FORMS:
        response = client.request(
            endpoint.method,
            _path(endpoint, world),
            content="&".join([*rest, fragment]).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        problem = wrong(response, "bad_request")
        if problem:
            failures.append(f"{fragment[:40]}: {problem}")
    settle(failures)


def test_a_repeated_plain_key_takes_the_last_value(world):
    body = "amount=1000&currency=JPY&payment_details[type]=konbini&payment_details[store]=lawson"
    body += "&payment_details[email]=a%40b.co&amount=abc"
    response = world.client.post(
        "/payments", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert wrong(response, "invalid_parameter", "amount") is None, response.text


# -- undecodable and unexpected bodies --------------------------------------------------------


JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
# label -> (content type, body, code, param), each sent to POST /payments
BODIES: dict[str, tuple[str | None, bytes, str, str | None]] = {
    "json type, form body": (JSON_TYPE, b"amount=1000", "bad_request", None),
    "truncated json": (JSON_TYPE, b"{", "bad_request", None),
    "json array": (JSON_TYPE, b"[1, 2]", "bad_request", None),
    "json string": (JSON_TYPE, b'"x"', "bad_request", None),
    "json null": (JSON_TYPE, b"null", "bad_request", None),
    "json number": (JSON_TYPE, b"12", "bad_request", None),
    "NaN": (JSON_TYPE, b'{"amount": NaN}', "bad_request", None),
    "Infinity": (JSON_TYPE, b'{"amount": Infinity}', "bad_request", None),
    "lone surrogate escape": (JSON_TYPE, b'{"description": "\\ud800"}', "bad_request", None),
    "lone surrogate and 1e400": (JSON_TYPE, b'{"description": "\\udc00x", "amount": 1e400}', "bad_request", None),
    "surrogate as UTF-8": (JSON_TYPE, b'{"description": "\xed\xa0\x80"}', "bad_request", None),
    "invalid UTF-8": (JSON_TYPE, b'{"description": "\xff"}', "bad_request", None),
    "byte-order mark": (JSON_TYPE, b"\xef\xbb\xbf{}", "bad_request", None),
    "UTF-16": (JSON_TYPE, '{"amount": 1}'.encode("utf-16"), "bad_request", None),
    "UTF-16 declared": (JSON_TYPE + "; charset=utf-16", '{"amount": 1}'.encode("utf-16"), "bad_request", None),
    # Deeper than the JSON parsers go: no field can be named.
    "arrays 100,000 deep": (
        JSON_TYPE,
        b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "unprocessable_entity",
        None,
    ),
    "hashes 5,000 deep": (
        JSON_TYPE,
        b'{"metadata": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}",
        "unprocessable_entity",
        None,
    ),
    "1e400 and deep arrays": (
        JSON_TYPE,
        b'{"amount": 1e400, "m": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        "unprocessable_entity",
        None,
    ),
    # Deeper than the limit (32), parsed: the field is named.
    "arrays 33 deep": (JSON_TYPE, b'{"metadata": ' + b"[" * 32 + b"]" * 32 + b"}", "unprocessable_entity", "metadata"),
    "1e400 and arrays 40 deep": (
        JSON_TYPE,
        b'{"amount": 1e400, "m": ' + b"[" * 40 + b"]" * 40 + b"}",
        "unprocessable_entity",
        "m",
    ),
    "an array of 1,001": (
        JSON_TYPE,
        b'{"amount": 1000, "m": [' + b",".join([b"1"] * 1_001) + b"]}",
        "unprocessable_entity",
        "m",
    ),
    "5,000 digits": (JSON_TYPE, b'{"amount": ' + b"1" * 5_000 + b"}", "invalid_parameter", "amount"),
    "-5,000 digits": (JSON_TYPE, b'{"amount": -' + b"1" * 5_000 + b"}", "invalid_parameter", "amount"),
    "1e400 and 5,000 digits": (
        JSON_TYPE,
        b'{"amount": 1e400, "tax": ' + b"1" * 5_000 + b"}",
        "invalid_parameter",
        "amount",
    ),
    "amount 1000, 5,000 digits of tax": (
        JSON_TYPE,
        b'{"amount": 1000, "currency": "JPY", "payment_details": {"type": "konbini", "store": "lawson", '
        b'"email": "a@b.co"}, "tax": ' + b"1" * 5_000 + b"}",
        "invalid_parameter",
        "tax",
    ),
    "NUL in a name": (JSON_TYPE, b'{"a\\u0000": 1}', "bad_request", None),
    "amount 1e400": (JSON_TYPE, b'{"amount": 1e400}', "invalid_parameter", "amount"),
    "amount -1e400": (JSON_TYPE, b'{"amount": -1e400}', "invalid_parameter", "amount"),
    "currency 1e400": (JSON_TYPE, b'{"amount": 1000, "currency": 1e400}', "invalid_currency", "currency"),
    "NUL in metadata": (JSON_TYPE, b'{"metadata": {"k": "\\u0000"}}', "invalid_parameter", "metadata[k]"),
    "empty": (JSON_TYPE, b"", "missing_parameter", "amount"),
    "blank": (JSON_TYPE, b"   ", "missing_parameter", "amount"),
    "empty hash": (JSON_TYPE, b"{}", "missing_parameter", "amount"),
    "json without a type": (None, b'{"amount": "x"}', "invalid_parameter", "amount"),
    "json array without a type": (None, b"[1]", "bad_request", None),
    "form type, json body": (FORM_TYPE, b'{"amount": 1000}', "missing_parameter", "amount"),
    "form, invalid UTF-8": (FORM_TYPE, b"\xff\xfe=1", "bad_request", None),
    "text/plain form": ("text/plain", b"amount=abc", "invalid_parameter", "amount"),
    "xml": ("application/xml", b"<payment><amount>1</amount></payment>", "missing_parameter", "amount"),
    "multipart": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n--x--',
        "missing_parameter",
        "amount",
    ),
    "garbage type": ("garbage/;;;", b"amount=abc", "invalid_parameter", "amount"),
}


@pytest.mark.parametrize("label", BODIES)
def test_bodies_that_are_not_a_hash_of_fields(world, label: str):
    ctype, body, code, param = BODIES[label]
    headers = {"Content-Type": ctype} if ctype else {}
    response = world.client.post("/payments", content=body, headers=headers)
    message = None
    if code == "unprocessable_entity":
        message = TOO_LONG if "array of" in label else TOO_DEEP
    assert wrong(response, code, param, message=message) is None, (response.status_code, response.text[:300])


TOO_DEEP = "The request body is nested too deeply (at most 32 levels)."
TOO_LONG = "An array in the request is too long (at most 1,000 items)."
TOO_LARGE = "The request body is too large (at most 1,000,000 bytes)."


@pytest.mark.parametrize(
    "fragment, param, message",
    [
        ("a" + "[b]" * 32 + "=1", "a", TOO_DEEP),
        ("metadata" + "[k]" * 31 + "[]=1", "metadata", TOO_DEEP),
        ("&".join(["m[]=1"] * 1_001), "m", TOO_LONG),
        ("&".join(["m[][k]=1"] * 1_001), "m", TOO_LONG),
    ],
)
def test_forms_nested_too_deep_or_with_too_long_arrays_are_422(world, fragment: str, param: str, message: str):
    body = "amount=1000&currency=JPY&payment_details[type]=konbini&" + fragment
    response = world.client.post("/payments", content=body, headers={"Content-Type": FORM_TYPE})
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "unprocessable_entity", "message": message, "param": param}}


def test_forms_at_the_limits_are_read(world):
    body = "&".join(["amount=x", "a" + "[b]" * 31 + "=1", *["m[]=1"] * 1_000])
    response = world.client.post("/payments", content=body, headers={"Content-Type": FORM_TYPE})
    assert wrong(response, "invalid_parameter", "amount") is None, response.text[:300]


def test_json_at_the_limits_is_read(world):
    body = b'{"amount": "x", "a": ' + b"[" * 31 + b"]" * 31 + b', "m": [' + b",".join([b"1"] * 1_000) + b"]}"
    response = world.client.post("/payments", content=body, headers={"Content-Type": JSON_TYPE})
    assert wrong(response, "invalid_parameter", "amount") is None, response.text[:300]


def test_a_query_with_too_long_an_array_is_422(world):
    response = world.client.get("/payments?" + "&".join(["ids[]=1"] * 1_001))
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "unprocessable_entity", "message": TOO_LONG, "param": "ids"}}


TOO_BIG = b'{"description": "' + b"x" * 1_000_001 + b'"}'


def _chunks() -> Iterator[bytes]:
    """TOO_BIG without a Content-Length."""
    for at in range(0, len(TOO_BIG), 65_536):
        yield TOO_BIG[at : at + 65_536]


# Every endpoint that reads a body: (method, path, extra headers, body; None sends TOO_BIG in chunks)
OVERSIZED: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("POST", "/payments", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/payments", {"Content-Type": FORM_TYPE}, b"description=" + b"x" * 1_000_001),
    ("POST", "/payments", {"Content-Type": JSON_TYPE, "X-KOMOJU-IDEMPOTENCY": "too-big-1"}, TOO_BIG),
    ("POST", "/payments", {"Content-Type": JSON_TYPE}, None),
    ("PATCH", "/payments/{captured}", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/payments/{captured}/refund", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/payments/{slip}/refund_request", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/payments/{authorized}/capture", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/tokens", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/customers", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("PATCH", "/customers/{customer}", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/subscriptions", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/webhooks", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/events/{event}/redeliver", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/sandbox/clock/advance", {"Content-Type": JSON_TYPE}, TOO_BIG),
    ("POST", "/sandbox/maintenance", {"Content-Type": JSON_TYPE}, TOO_BIG),
]


def test_bodies_over_a_megabyte_are_413(world):
    failures = []
    for method, path, headers, content in OVERSIZED:
        body = content if content is not None else _chunks()
        response = world.client.request(method, path.format(**world.ids), content=body, headers=headers)
        problem = wrong(response, "bad_request", status=413, message=TOO_LARGE)
        if not problem and response.headers.get("connection") != "close":
            problem = f"Connection: {response.headers.get('connection')!r}, not close (the rest is unread)"
        if problem:
            failures.append(f"{method} {path} {headers}: {problem}")
    settle(failures)


def test_a_body_of_exactly_a_megabyte_is_read(world):
    padding = b"x" * (1_000_000 - len(b'{"amount": "x", "description": ""}'))
    body = b'{"amount": "x", "description": "' + padding + b'"}'
    assert len(body) == 1_000_000
    response = world.client.post("/payments", content=body, headers={"Content-Type": JSON_TYPE})
    assert wrong(response, "invalid_parameter", "amount") is None, response.text[:300]


# -- ids in paths -----------------------------------------------------------------------------


ID_ROUTES = [
    ("GET", "/payments/{}"),
    ("PATCH", "/payments/{}"),
    ("POST", "/payments/{}/capture"),
    ("POST", "/payments/{}/refund"),
    ("POST", "/payments/{}/refund_request"),
    ("POST", "/payments/{}/cancel"),
    ("POST", "/sandbox/payments/{}/complete"),
    ("POST", "/sandbox/payments/{}/fail"),
    ("GET", "/secure_tokens/{}"),
    ("GET", "/customers/{}"),
    ("PATCH", "/customers/{}"),
    ("DELETE", "/customers/{}"),
    ("GET", "/subscriptions/{}"),
    ("DELETE", "/subscriptions/{}"),
    ("GET", "/events/{}"),
    ("POST", "/events/{}/redeliver"),
    ("GET", "/events/{}/deliveries"),
    ("GET", "/webhooks/{}"),
    ("DELETE", "/webhooks/{}"),
    ("GET", "/webhooks/{}/deliveries"),
]
BAD_IDS = [
    "x" * 5_000,
    "日本語",
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate
    "%C0%AF",  # an overlong '/'
    "%ff",
    "%0A",
    "abc%0A",
    "a%20b",
    "..",
    "%2e%2e",
    "a%2Fb",
    "UPPERCASE",
    "tok_abc",
    "' OR 1=1 --",
]


@pytest.mark.parametrize(("method", "route"), ID_ROUTES, ids=lambda v: v)
def test_malformed_ids_in_paths_are_not_found(world, method: str, route: str):
    failures = []
    for bad in BAD_IDS:
        response = world.client.request(method, route.format(bad), content=b"{}", headers={"Content-Type": JSON_TYPE})
        problem = wrong(response, "not_found")
        if problem:
            failures.append(f"{short(bad)}: {problem}")
    settle(failures)


def test_a_malformed_id_still_asks_for_a_key_first(server):
    with server.client(None) as anonymous:
        response = anonymous.get("/payments/%00")
    assert wrong(response, "unauthorized") is None, response.text


# -- list query strings -----------------------------------------------------------------------


LISTS = [
    "/payments",
    "/customers",
    "/subscriptions",
    "/events",
    "/webhooks",
    "/webhooks/{webhook}/deliveries",
    "/events/{event}/deliveries",
]
# (query, code, param): None is a success (the parameter is ignored, or fine)
QUERIES: list[tuple[str, str | None, str | None]] = [
    *((f"page={v}", "invalid_parameter", "page") for v in ["0", "-1", "abc", "1e3", "1.5", "%EF%BC%91", "%C2%B2"]),
    *(
        (f"page={v}", "invalid_parameter", "page")
        for v in ["99999999999999999999999", "0" * 5_000, "1000000001", "%00"]
    ),
    ("page[]=1", "invalid_parameter", "page"),
    ("page[a]=1", "invalid_parameter", "page"),
    *(
        (f"per_page={v}", "invalid_parameter", "per_page")
        for v in ["0", "101", "-5", "abc", "%C2%B2", "%00", "9" * 400]
    ),
    ("per_page[]=10", "invalid_parameter", "per_page"),
    ("page=%ff", "bad_request", None),
    ("page=1&page[a]=2", "bad_request", None),
    ("a%00=1", "bad_request", None),
    ("zzz=1&filter[x]=y", None, None),
    ("page=1000000000", None, None),
    ("page=0001&per_page=007", None, None),
]
PAYMENT_QUERIES: list[tuple[str, str | None, str | None]] = [
    ("status=bogus", "invalid_parameter", "status"),
    ("status[k]=captured", "invalid_parameter", "status"),
    ("status=%00", "invalid_parameter", "status"),
    ("currency=XXX", "invalid_currency", "currency"),
    ("currency[]=JPY", "invalid_currency", "currency"),
    ("external_order_num=%00", "invalid_parameter", "external_order_num"),
    ("external_order_num[]=x", "invalid_parameter", "external_order_num"),
    ("external_order_num=" + "x" * 256, "invalid_parameter", "external_order_num"),
    ("start_time=garbage", "invalid_parameter", "start_time"),
    ("start_time[]=2020-01-01", "invalid_parameter", "start_time"),
    ("start_time=2020-01-01T00:00:00%2B99:00", "invalid_parameter", "start_time"),
    ("start_time=%00", "invalid_parameter", "start_time"),
    ("end_time=99999", "invalid_parameter", "end_time"),
    ("end_time=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%90-01-01", "invalid_parameter", "end_time"),
    ("start_time=0001-01-01T00:00:00%2B01:00&end_time=9999-12-31T23:59:59-01:00", None, None),
]


@pytest.mark.parametrize("path", LISTS)
def test_list_query_garbage_is_refused_by_name(world, path: str):
    cases = QUERIES + (PAYMENT_QUERIES if path == "/payments" else [])
    if path in ("/customers", "/subscriptions"):
        cases = cases + [c for c in PAYMENT_QUERIES if "time" in c[0]]
    failures = []
    for query, code, param in cases:
        response = world.client.get(f"{path.format(**world.ids)}?{query}")
        problem = wrong(response, code, param)
        if problem:
            failures.append(f"{query[:50]}: {problem}")
    settle(failures)


def test_unknown_query_parameters_are_ignored(world):
    for path in ("/payments/{captured}", "/customers/{customer}", "/subscriptions/{subscription}", "/events/{event}"):
        response = world.client.get(path.format(**world.ids) + "?zzz=1&a[b][]=c&%ff=%fe&%00")
        assert response.status_code == 200, (path, response.text[:300])
        assert response.json()["id"] == path.format(**world.ids).rsplit("/", 1)[1]


# -- headers ----------------------------------------------------------------------------------


def _basic(user: bytes) -> bytes:
    return b"Basic " + base64.b64encode(user + b":")


BAD_AUTHORIZATION: list[bytes] = [
    b"Basic !!!",
    b"Bearer x",
    b"Digest username=x",
    b"Basic",
    b"Basic \xff\xfe",
    _basic(b""),
    _basic(b"\xff\xfe"),
    _basic(b"sk_test_nobody"),
    _basic(b"sk_test_" + b"x" * 10_000),
    _basic("ключ".encode()),
    _basic(b"\x00"),
    b"Basic " + b"A" * 10_000,
    b"Basic " + base64.b64encode(b"no-colon-at-all-\x00"),
]


@pytest.mark.parametrize(("method", "path"), [("GET", "/payments"), ("POST", "/payments"), ("POST", "/tokens")])
def test_garbage_authorization_is_unauthorized(server, method: str, path: str):
    failures = []
    with server.client(None) as client:
        for header in BAD_AUTHORIZATION:
            response = client.request(method, path, headers={"Authorization": header}, json={"amount": 1})
            problem = wrong(response, "unauthorized")
            if problem:
                failures.append(f"{header[:30]!r}: {problem}")
    settle(failures)


BAD_SCENARIOS: list[bytes] = [
    b"bogus",
    b"CARD_DECLINED",
    b"card_declined, insufficient_funds",
    b"x" * 10_000,
    b"\xff\xfe",
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/payments", {"amount": 1000, "currency": "JPY", "payment_details": KONBINI}),
        ("PATCH", "/payments/{pending}", {"payment_details": WEB_MONEY}),
        ("POST", "/customers", {"payment_details": CARD}),
        ("POST", "/subscriptions", {"customer": "{customer}", "amount": 100, "currency": "JPY", "period": "weekly"}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_garbage_scenario_headers_are_refused_by_name(world, method, path, body):
    body = {k: v.format(**world.ids) if isinstance(v, str) else v for k, v in body.items()}
    failures = []
    for scenario in BAD_SCENARIOS:
        response = world.client.request(
            method, path.format(**world.ids), json=body, headers={"Komoju-Scenario": scenario}
        )
        problem = wrong(response, "invalid_parameter", "Komoju-Scenario")
        if problem:
            failures.append(f"{scenario[:30]!r}: {problem}")
    settle(failures)


BAD_IDEMPOTENCY_KEYS: list[bytes] = [b"x" * 101, b"\xc3\xa9t\xc3\xa9", b"a\tb", b"\xff"]


def test_garbage_idempotency_keys_are_refused_and_nothing_is_made(merchant_api):
    failures = []
    for key in BAD_IDEMPOTENCY_KEYS:
        body = {"amount": 1000, "currency": "JPY", "payment_details": KONBINI}
        response = merchant_api.post("/payments", json=body, headers={"X-KOMOJU-IDEMPOTENCY": key})
        problem = wrong(response, "invalid_parameter", "X-KOMOJU-IDEMPOTENCY")
        if problem:
            failures.append(f"{key[:30]!r}: {problem}")
    settle(failures)
    assert merchant_api.get("/payments").json()["total"] == 0


def test_methods_a_resource_does_not_have_are_the_envelope(world):
    failures = []
    for method, path in [("PUT", "/payments"), ("DELETE", "/payments"), ("TRACE", "/tokens"), ("GET", "/tokens")]:
        response = world.client.request(method, path)
        problem = wrong(response, "method_not_allowed")
        if problem:
            failures.append(f"{method} {path}: {problem}")
    settle(failures)


# -- refused creates write nothing ------------------------------------------------------------


def test_refused_creates_leave_no_record(merchant_api):
    """A fresh merchant: every create below is refused, some only after all else was checked
    (a bad webhook URL, a declined charge); afterwards its lists hold only the one customer."""
    customer = _made(merchant_api.post("/customers", json={"payment_details": CARD}))
    konbini = {"amount": 1000, "currency": "JPY", "payment_details": KONBINI}
    sub = {"customer": customer["id"], "amount": 100, "currency": "JPY", "period": "monthly"}
    refused: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
        ("/payments", {**konbini, "webhooks": ["http://ok.example", "nope"]}, {}, "invalid_parameter"),
        ("/payments", {**konbini, "capture": "maybe"}, {}, "invalid_parameter"),
        (
            "/payments",
            {**konbini, "fraud_details": {"customer_ip": "1.1.1.1", "customer_email": "x"}},
            {},
            "invalid_parameter",
        ),
        ("/payments", {**konbini, "metadata": {"k": "a\u0000"}}, {}, "invalid_parameter"),
        ("/payments", {**konbini, "amount": HUGE}, {}, "invalid_parameter"),
        ("/payments", {**konbini, "amount": 300_001}, {}, "invalid_parameter"),
        ("/payments", {**konbini, "external_order_num": "a\u0000"}, {}, "invalid_parameter"),
        ("/payments", konbini, {"Komoju-Scenario": "bogus"}, "invalid_parameter"),
        ("/payments", konbini, {"Komoju-Scenario": "card_declined"}, "card_declined"),
        ("/payments", konbini, {"X-KOMOJU-IDEMPOTENCY": "x" * 101}, "invalid_parameter"),
        ("/payments", {"amount": 1000, "currency": "JPY", "customer": customer["id"] + "x"}, {}, "invalid_parameter"),
        ("/customers", {"payment_details": CARD, "email": "nope"}, {}, "invalid_parameter"),
        ("/customers", {"payment_details": CARD, "metadata": {"k": {"a": "x" * 2001}}}, {}, "invalid_parameter"),
        ("/customers", {"payment_details": CARD, "currency": "XXX"}, {}, "invalid_currency"),
        ("/customers", {"payment_details": {**CARD, "name": "a\u0000"}}, {}, "invalid_parameter"),
        ("/subscriptions", {**sub, "metadata": [1]}, {}, "invalid_parameter"),
        ("/subscriptions", {**sub, "amount": 0}, {}, "invalid_parameter"),
        ("/subscriptions", {**sub, "amount": 10_000_000}, {}, "invalid_parameter"),
        ("/subscriptions", sub, {"Komoju-Scenario": "card_declined"}, "card_declined"),
        ("/webhooks", {"url": "http://ok.example", "secret_token": "s", "events": ["bogus"]}, {}, "invalid_parameter"),
        ("/webhooks", {"url": "http://a\u0000b", "secret_token": "s"}, {}, "invalid_parameter"),
    ]
    for path, body, headers, code in refused:
        response = merchant_api.post(path, content=encode(body), headers={"Content-Type": JSON_TYPE, **headers})
        assert response.json()["error"]["code"] == code, (path, body, response.text[:300])
    oversized = merchant_api.post("/payments", content=TOO_BIG, headers={"Content-Type": JSON_TYPE})
    assert oversized.status_code == 413
    totals = {
        path: merchant_api.get(path).json()["total"]
        for path in ("/payments", "/customers", "/subscriptions", "/webhooks")
    }
    assert totals == {"/payments": 0, "/customers": 1, "/subscriptions": 0, "/webhooks": 0}
    events = merchant_api.get("/events").json()
    assert [e["type"] for e in events["data"]] == ["customer.created"]


# -- and the server kept quiet ----------------------------------------------------------------


def test_the_server_printed_no_traceback_and_logged_no_failure(server, world):
    """Last in the module: the sweep above made the server log no unhandled error."""
    mine = server.output[world.mark :]
    assert not [line for line in mine if " failed: " in line], "".join(mine)[-3000:]
    assert "Traceback" not in "".join(server.output)
