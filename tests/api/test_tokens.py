"""POST /tokens and using tokens served in process on both databases.

Every one of the document's 23 token examples answers exactly the payment_details the
document prints, and pays; each way a token can be wrong (used, expired on the merchant's
sandbox clock, unknown, another merchant's or mode's) is 422 invalid_token on
payment_details; tokenizing checks details exactly as a payment does.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from komoju_server.methods import TYPES
from tests.api.payment_support import TIME, Match, error
from tests.support import NO_FIELD_TYPES_BY_CURRENCY

TOKEN_ID = Match(r"tok_[a-z0-9]{25}")
EMAIL = "test@example.com"
NAMES = {
    "given_name": "太郎",
    "family_name": "山田",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "080-1111-2222",
    "email": EMAIL,
}
PREPAID = "1111111111111111"

# type -> (the document's request payment_details, the payment_details it answers, currency to pay in)
TOKEN_EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "mobile": ({"type": "mobile", "email": "foo@bar.com"}, {"type": "mobile", "email": "foo@bar.com"}, "KRW"),
    "paidy": (
        {
            "type": "paidy",
            "email": EMAIL,
            "billing_address_city": "武蔵野市",
            "billing_address_line1": "いちご吉祥寺ビル 4F",
            "billing_address_line2": "吉祥寺本町 2 丁目 5 番 10 号",
            "billing_address_state": "東京都",
            "billing_address_zip": "1800004",
            "customer_age": "25",
            "customer_last_order_amount": "20000",
            "customer_last_order_at": "10",
            "customer_lifetime_value": "250000",
            "customer_name": "山田太郎",
            "customer_name_kana": "マダ タロウ",
            "customer_order_count": "2",
        },
        {"type": "paidy", "email": EMAIL},
        "JPY",
    ),
    "konbini": (
        {"type": "konbini", "store": "lawson", "email": EMAIL, "phone": "090-1111-2222", "expiry_days": "3"},
        {"type": "konbini", "store": "lawson", "email": EMAIL, "phone": "090-1111-2222"},
        "JPY",
    ),
    "pay_easy": ({"type": "pay_easy", **NAMES}, {"type": "pay_easy", **NAMES}, "JPY"),
    "bit_cash": (
        {"type": "bit_cash", "email": EMAIL, "prepaid_number": PREPAID},
        {"type": "bit_cash", "email": EMAIL},
        "JPY",
    ),
    "net_cash": (
        {"type": "net_cash", "email": EMAIL, "prepaid_number": PREPAID},
        {"type": "net_cash", "email": EMAIL},
        "JPY",
    ),
    "bank_transfer": (
        {"type": "bank_transfer", "expiry_days": "14", **NAMES},
        {"type": "bank_transfer", **NAMES},
        "JPY",
    ),
    "paysafe_cash": (
        {"type": "paysafe_cash", "email": "foo@bar.com"},
        {"type": "paysafe_cash", "email": "foo@bar.com"},
        "JPY",
    ),
    "dospara": ({"type": "dospara", "user_no": "12345", "user_password": "password"}, {"type": "dospara"}, "JPY"),
    "japan_mobile": (
        {"type": "japan_mobile", "brand": "au", "email": EMAIL},
        {"type": "japan_mobile", "email": EMAIL},
        "JPY",
    ),
    "zgold": (
        {"type": "zgold", "email": "foo@bar.com", "return_url": "http://example.com"},
        {"type": "zgold", "email": "foo@bar.com"},
        "JPY",
    ),
    "web_money": (
        {"type": "web_money", "email": EMAIL, "prepaid_number": PREPAID},
        {"type": "web_money", "email": EMAIL},
        "JPY",
    ),
    "nanaco": (
        {"type": "nanaco", "email": EMAIL, "prepaid_number": PREPAID},
        {"type": "nanaco", "email": EMAIL},
        "JPY",
    ),
    "paysafe_card": (
        {"type": "paysafe_card", "email": "foo@bar.com"},
        {"type": "paysafe_card", "email": "foo@bar.com"},
        "JPY",
    ),
    "merpay": ({"type": "merpay", "email": EMAIL}, {"type": "merpay", "email": EMAIL}, "JPY"),
    "culture_voucher": (
        {"type": "culture_voucher", "culture_id": "11111111", "culture_password": "11111111"},
        {"type": "culture_voucher"},
        "KRW",
    ),
    "toss": ({"type": "toss", "birthday": "111111"}, {"type": "toss"}, "KRW"),
    "happy_money": (
        {"type": "happy_money", "happy_money_id": "11111111", "happy_money_password": "11111111"},
        {"type": "happy_money"},
        "KRW",
    ),
    "credit_card": (
        {
            "type": "credit_card",
            "email": EMAIL,
            "month": "01",
            "name": "Taro Yamada",
            "number": "4111111111111111",
            "verification_value": "123",
            "year": "2025",
        },
        {"type": "credit_card", "email": EMAIL},
        "JPY",
    ),
    "cvs": ({"type": "cvs", "email": "foo@bar.com"}, {"type": "cvs", "email": "foo@bar.com"}, "KRW"),
    "steam_prepaid_card": (
        {"type": "steam_prepaid_card", "email": EMAIL, "prepaid_number": PREPAID},
        {"type": "steam_prepaid_card", "email": EMAIL},
        "JPY",
    ),
    "line_pay": ({"type": "line_pay", "email": EMAIL}, {"type": "line_pay", "email": EMAIL}, "JPY"),
    "nexus_transfer": ({"type": "nexus_transfer", "provider": "mega-shark"}, {"type": "nexus_transfer"}, "JPY"),
    # the types of KOMOJU's current reference: redirect methods keep the email on the token
    **{
        type_: ({"type": type_, "email": EMAIL}, {"type": type_, "email": EMAIL}, currency)
        for currency, types in NO_FIELD_TYPES_BY_CURRENCY.items()
        for type_ in types
    },
    **{
        type_: ({"type": type_, "email": EMAIL}, {"type": type_, "email": EMAIL}, "EUR")
        for type_ in ("multibanco", "sepa_transfer", "narvesen", "perlas", "paypost")
    },
    "credit_card_korea": (
        {
            "type": "credit_card_korea",
            "email": EMAIL,
            "number": "4111111111111111",
            "month": "01",
            "year": "2025",
            "first_two_digits_of_pin": "12",
        },
        {"type": "credit_card_korea", "email": EMAIL},
        "KRW",
    ),
    "credit_card_brazil": (
        {
            "type": "credit_card_brazil",
            "email": EMAIL,
            "number": "4111111111111111",
            "month": "01",
            "year": "2025",
            "name": "Joao Silva",
            "cpf_or_cnpj": "29259995060",
        },
        {"type": "credit_card_brazil", "email": EMAIL},
        "BRL",
    ),
    "pix": (
        {"type": "pix", "name": "Joao Silva", "email": EMAIL, "cpf": "29259995060"},
        {"type": "pix", "email": EMAIL},
        "BRL",
    ),
}
SECRETS = {"number", "verification_value", "prepaid_number", "user_password", "culture_password",
           "happy_money_password", "birthday", "first_two_digits_of_pin"}  # fmt: skip
CARD = TOKEN_EXAMPLES["credit_card"][0]


def tokenize(client: httpx.Client, details: Any, **extra: Any) -> httpx.Response:
    return client.post("/tokens", json={"payment_details": details, **extra})


def token_id(client: httpx.Client, details: Any = CARD) -> str:
    response = tokenize(client, details)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def pay(client: httpx.Client, details: Any, currency: str = "JPY", **extra: Any) -> httpx.Response:
    return client.post("/payments", json={"amount": 1000, "currency": currency, "payment_details": details, **extra})


INVALID_TOKEN = error("invalid_token", "payment_details", "The token you requested is invalid")


def test_the_examples_cover_every_payment_type():
    assert sorted(TOKEN_EXAMPLES) == sorted(TYPES)
    assert len(TOKEN_EXAMPLES) == 68


@pytest.mark.parametrize("kind", list(TOKEN_EXAMPLES))
def test_each_type_tokenizes_to_its_safe_details_and_pays(api, kind):
    request, shown, currency = TOKEN_EXAMPLES[kind]
    response = tokenize(api, request)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token == {"id": TOKEN_ID, "resource": "token", "created_at": TIME, "payment_details": shown}
    assert not SECRETS & set(token["payment_details"])

    paid = pay(api, token["id"], currency)
    assert paid.status_code == 200, paid.text
    payment = paid.json()
    assert payment["payment_details"]["type"] == kind
    assert payment["customer"] is None
    assert not SECRETS & set(payment["payment_details"])
    assert pay(api, token["id"], currency).json() == INVALID_TOKEN


def test_a_form_encoded_token_as_the_document_sends_it(api):
    body = (
        b"payment_details[email]=test@example.com&payment_details[month]=01&payment_details[name]=Taro Yamada"
        b"&payment_details[number]=4111111111111111&payment_details[type]=credit_card"
        b"&payment_details[verification_value]=123&payment_details[year]=2025"
    )
    response = api.post("/tokens", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json()["payment_details"] == {"type": "credit_card", "email": EMAIL}

    paid = api.post(
        "/payments",
        content=f"amount=1000&currency=JPY&payment_details={response.json()['id']}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert paid.status_code == 200
    assert paid.json()["payment_details"] == {
        "type": "credit_card",
        "email": EMAIL,
        "brand": "visa",
        "last_four_digits": "1111",
        "month": 1,
        "year": 2025,
    }
    assert paid.json()["total"] == 1100


def test_optional_token_fields_left_out_answer_null(api):
    response = tokenize(api, {"type": "konbini", "store": "seven-eleven", "email": EMAIL})
    assert response.json()["payment_details"] == {
        "type": "konbini",
        "store": "seven-eleven",
        "email": EMAIL,
        "phone": None,
    }


def test_the_publishable_key_makes_tokens_the_secret_key_uses(server, api):
    with server.client(server.publishable_key) as public:
        response = tokenize(public, CARD)
        assert response.status_code == 200
        assert public.post("/payments", json={"amount": 1000, "currency": "JPY"}).status_code == 403
        assert public.get("/customers").status_code == 403
    assert pay(api, response.json()["id"]).status_code == 200


def test_tokens_need_a_key(server):
    with server.client(None) as anonymous:
        response = tokenize(anonymous, CARD)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


# -- tokenizing checks details as a payment does ----------------------------------------------


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (None, error("missing_parameter", "payment_details")),
        ({"email": EMAIL}, error("missing_parameter", "payment_details[type]")),
        ({**CARD, "number": None}, error("missing_parameter", "payment_details[number]")),
        ({**CARD, "month": ""}, error("missing_parameter", "payment_details[month]")),
        ({"type": "konbini", "email": EMAIL}, error("missing_parameter", "payment_details[store]")),
        ({"type": "web_money"}, error("missing_parameter", "payment_details[prepaid_number]")),
        ({"type": "dospara", "user_no": "1"}, error("missing_parameter", "payment_details[user_password]")),
        ({**CARD, "number": "4111111111111112"}, error("invalid_parameter", "payment_details[number]")),
        ({**CARD, "month": "13"}, error("invalid_parameter", "payment_details[month]")),
        ({**CARD, "verification_value": "12"}, error("invalid_parameter", "payment_details[verification_value]")),
        ({**CARD, "email": "not-an-email"}, error("invalid_parameter", "payment_details[email]")),
        ({"type": "konbini", "store": "nowhere", "email": EMAIL}, error("invalid_parameter", "payment_details[store]")),
        ({"type": "web_money", "prepaid_number": "123"}, error("invalid_parameter", "payment_details[prepaid_number]")),
        (["credit_card"], error("invalid_parameter", "payment_details")),
    ],
)
def test_bad_details_are_refused_as_for_a_payment(api, details, expected):
    response = tokenize(api, details)
    assert response.status_code == 422
    assert response.json() == expected
    assert pay(api, details).json() == expected


def test_a_token_cannot_be_tokenized(api):
    response = tokenize(api, token_id(api))
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "payment_details")


def test_an_unknown_type_lists_the_types(api):
    response = tokenize(api, {"type": "gold_bars"})
    assert response.status_code == 422
    assert response.json() == error(
        "invalid_payment_type",
        "payment_details[type]",
        f"Payment method was invalid. gold_bars is not one of {', '.join(TYPES)}.",
    )


@pytest.mark.parametrize(
    ("currency", "details"), [("XYZ", CARD), ("USD", {"type": "konbini", "store": "lawson", "email": EMAIL})]
)
def test_a_currency_must_be_one_the_method_takes(api, currency, details):
    response = tokenize(api, details, currency=currency)
    assert response.status_code == 422
    assert response.json() == error("invalid_currency", "currency")


def test_nothing_secret_is_echoed(api):
    for request, _, _ in TOKEN_EXAMPLES.values():
        text = tokenize(api, request).text
        for name in SECRETS & set(request):
            value = str(request[name])
            # a two-digit secret (a Korean card's PIN digits) is looked for as a JSON value:
            # as a bare substring it would turn up in any timestamp
            assert (f'"{value}"' if len(value) < 4 else value) not in text
            assert name not in text


# -- using a token -----------------------------------------------------------------------------


def test_a_used_token_is_invalid(api):
    token = token_id(api)
    assert pay(api, token).status_code == 200
    response = pay(api, token)
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


@pytest.mark.parametrize("value", ["tok_" + "0" * 25, "tok_", "not-a-token", "tok_" + "a" * 300])
def test_an_unknown_token_is_invalid(api, value):
    response = pay(api, value)
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


def test_another_merchants_token_is_invalid(api, merchant_api):
    token = token_id(merchant_api)
    assert pay(api, token).json() == INVALID_TOKEN
    assert pay(merchant_api, token).status_code == 200


def test_a_live_token_is_invalid_in_test_mode(server, merchant, merchant_api):
    with server.client(merchant["live_publishable_key"]) as live:
        token = token_id(live)
    assert pay(merchant_api, token).json() == INVALID_TOKEN


def test_a_declined_payment_does_not_use_the_token(api):
    token = token_id(api, {**CARD, "number": "4123111111111059"})
    for _ in range(2):
        response = pay(api, token)
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "card_declined"


def test_an_invalid_payment_does_not_use_the_token(api):
    token = token_id(api)
    assert pay(api, token, amount=None).json() == error("missing_parameter", "amount")
    assert pay(api, token, "XYZ").json() == error("invalid_currency", "currency")
    assert pay(api, token).status_code == 200


def test_a_token_continues_a_short_prepaid_payment(api):
    first = api.post(
        "/payments",
        json={"amount": 3000, "currency": "JPY", "payment_details": {"type": "web_money", "prepaid_number": PREPAID}},
    )
    assert first.status_code == 202
    payment = first.json()
    assert (payment["status"], payment["payment_details"]["short_amount"]) == ("pending", 1300)

    wrong = token_id(api, {"type": "net_cash", "prepaid_number": PREPAID})
    response = api.patch(f"/payments/{payment['id']}", json={"payment_details": wrong})
    assert response.json() == error("invalid_parameter", "payment_details[type]")

    token = token_id(api, {"type": "web_money", "prepaid_number": PREPAID})
    response = api.patch(f"/payments/{payment['id']}", json={"payment_details": token})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "captured"
    assert response.json()["payment_details"]["short_amount"] == 0

    again = api.post(
        "/payments",
        json={"amount": 3000, "currency": "JPY", "payment_details": {"type": "web_money", "prepaid_number": PREPAID}},
    ).json()
    response = api.patch(f"/payments/{again['id']}", json={"payment_details": token})
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


def test_a_token_used_for_a_customer_cannot_pay(api):
    token = token_id(api)
    assert api.post("/customers", json={"payment_details": token}).status_code == 200
    assert pay(api, token).json() == INVALID_TOKEN
    response = api.post("/customers", json={"payment_details": token})
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


# -- the 30 days, on the merchant's sandbox clock ----------------------------------------------

DAY = 86_400


def advance(client: httpx.Client, seconds: int) -> None:
    response = client.post("/sandbox/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def test_a_token_expires_30_days_after_it_was_made_on_the_merchant_clock(merchant_api):
    before, after = token_id(merchant_api), token_id(merchant_api)
    advance(merchant_api, 30 * DAY - 60)
    assert pay(merchant_api, before).status_code == 200
    advance(merchant_api, 60)
    response = pay(merchant_api, after)
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


def test_an_expired_token_cannot_make_a_customer(merchant_api):
    token = token_id(merchant_api)
    advance(merchant_api, 31 * DAY)
    response = merchant_api.post("/customers", json={"payment_details": token})
    assert response.status_code == 422
    assert response.json() == INVALID_TOKEN


def test_a_sandbox_reset_erases_tokens_and_customers(merchant_api):
    token = token_id(merchant_api)
    customer = merchant_api.post("/customers", json={"payment_details": CARD}).json()
    erased = merchant_api.post("/sandbox/reset").json()["erased"]
    assert (erased["tokens"], erased["customers"]) == (1, 1)
    assert pay(merchant_api, token).json() == INVALID_TOKEN
    assert merchant_api.get(f"/customers/{customer['id']}").status_code == 404
