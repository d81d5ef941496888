"""Sessions served in process on both databases: create in the three modes, show, pay (cards,
konbini, redirects, tokens, customers), cancel, expiry on the sandbox clock, and the checks
of every field with KOMOJU's codes and params. Races are in test_session_races.py."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from komoju_server.store import sessions as sessions_table
from tests.api.payment_support import ID, TIME, card, error, order_num, parse_time

RETURN_URL = "https://shop.example/orders/7/complete"
JPY_1000_TYPES = [
    "credit_card",
    "konbini",
    "bank_transfer",
    "pay_easy",
    "web_money",
    "net_cash",
    "bit_cash",
    "nanaco",
    "steam_prepaid_card",
    "japan_mobile",
    "line_pay",
    "merpay",
    "paidy",
    "dospara",
    "zgold",
    "paysafe_cash",
    "paysafe_card",
    "nexus_transfer",
    "paypay",
    "rakutenpay",
    "aupay",
    "epospay",
    "komoju_pay",
    "docomo",
    "au",
    "softbank",
    "alipay",
    "wechatpay",
    "unionpay",
]
BRANDS = ["american_express", "diners_club", "jcb", "master", "visa"]
UNPROCESSABLE = "unprocessable_entity"


def gateway(type_: str) -> str:
    return hashlib.sha256(f"komoju-server:{type_}".encode()).hexdigest()[:16]


def method_entry(
    type_: str, amount: int = 1000, currency: str = "JPY", fields: list[str] | None = None, offsite: bool = False
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": type_,
        "hashed_gateway": gateway(type_),
        "amount": amount,
        "currency": currency,
        "exchange_rate": 1.0,
    }
    if type_ == "credit_card":
        entry["brands"] = BRANDS
    else:
        entry["offsite"] = offsite
        entry["additional_fields"] = fields or []
    return entry


def new_session(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/sessions", json={"amount": 1000, "currency": "JPY", **body})


def made(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = new_session(client, **body)
    assert response.status_code == 200, response.text
    return response.json()


def pay(client: httpx.Client, session_id: str, details: Any, **body: Any) -> httpx.Response:
    return client.post(f"/sessions/{session_id}/pay", json={"payment_details": details, **body})


def unprocessable(message: str) -> dict[str, Any]:
    return error(UNPROCESSABLE, message=message)


# -- creating and showing --------------------------------------------------------------------


def test_a_payment_session_answers_as_komoju(merchant_api, server):
    session = made(merchant_api, return_url=RETURN_URL)
    created_at = session["created_at"]
    assert session == {
        "id": ID,
        "resource": "session",
        "mode": "payment",
        "amount": 1000,
        "currency": "JPY",
        "session_url": f"{server.url}/sessions/{session['id']}",
        "return_url": RETURN_URL,
        "default_locale": "ja",
        "payment_methods": session["payment_methods"],
        "created_at": TIME,
        "cancelled_at": None,
        "completed_at": None,
        "status": "pending",
        "expired": False,
        "expires_at": TIME,
        "merchant": {"name": "merchant"},
        "metadata": {},
        "payment": None,
        "payment_data": {"external_order_num": None, "name": None, "name_kana": None, "capture": "auto"},
    }
    assert (parse_time(session["expires_at"]) - parse_time(created_at)).total_seconds() == 86_400
    assert [m["type"] for m in session["payment_methods"]] == JPY_1000_TYPES
    methods = {m["type"]: m for m in session["payment_methods"]}
    assert methods["credit_card"] == method_entry("credit_card")
    assert methods["konbini"] == method_entry("konbini", fields=["store", "email"])
    assert methods["line_pay"] == method_entry("line_pay", offsite=True)
    assert methods["japan_mobile"] == method_entry("japan_mobile", fields=["brand"], offsite=True)
    assert merchant_api.get(f"/sessions/{session['id']}").json() == session


def test_a_session_takes_every_field_of_the_reference(merchant_api):
    body = {
        "amount": 5000,
        "currency": "JPY",
        "return_url": RETURN_URL,
        "default_locale": "en",
        "email": "buyer@example.com",
        "expires_in_seconds": 600,
        "external_customer_id": "user-42",
        "payment_types": ["konbini", "credit_card"],
        "metadata": {"order": "A-1"},
        "line_items": [
            {"amount": 4000, "description": "Tea", "quantity": 1, "image": "https://shop.example/tea.png"},
            {"amount": 500, "description": "Cup", "quantity": 2, "external_product_num": "SKU-2"},
        ],
        "payment_data": {
            "external_order_num": "A-1",
            "name": "Taro Yamada",
            "name_kana": "ヤマダタロウ",
            "capture": "manual",
            "billing_address": {"zipcode": "150-0001", "city": "Shibuya", "country": "JP"},
        },
    }
    session = merchant_api.post("/sessions", json=body).json()
    assert (parse_time(session["expires_at"]) - parse_time(session["created_at"])).total_seconds() == 600
    assert session["default_locale"] == "en"
    assert session["email"] == "buyer@example.com"
    assert session["metadata"] == {"order": "A-1"}
    assert session["payment_methods"] == [
        method_entry("konbini", 5000, fields=["store", "email"]),
        method_entry("credit_card", 5000),
    ]
    assert session["line_items"] == [
        {
            "amount": 4000,
            "description": "Tea",
            "quantity": 1,
            "image": "https://shop.example/tea.png",
            "external_product_num": None,
        },
        {"amount": 500, "description": "Cup", "quantity": 2, "image": None, "external_product_num": "SKU-2"},
    ]
    address = {
        "name": None,
        "street_address1": None,
        "street_address2": None,
        "city": "Shibuya",
        "state": None,
        "zipcode": "150-0001",
        "country": "JP",
    }
    assert session["payment_data"] == {
        "external_order_num": "A-1",
        "name": "Taro Yamada",
        "name_kana": "ヤマダタロウ",
        "capture": "manual",
        "billing_address": address,
    }


def test_a_form_encoded_session_is_the_same_as_json(merchant_api):
    body = (
        "amount=1000&currency=JPY&payment_types[]=credit_card&payment_types[]=konbini"
        "&line_items[][amount]=1000&line_items[][description]=Tea&metadata[order]=7"
        "&payment_data[capture]=manual&payment_data[external_order_num]=F-1"
    )
    response = merchant_api.post(
        "/sessions", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200, response.text
    session = response.json()
    assert [m["type"] for m in session["payment_methods"]] == ["credit_card", "konbini"]
    assert session["line_items"] == [
        {"amount": 1000, "description": "Tea", "quantity": 1, "image": None, "external_product_num": None}
    ]
    assert session["payment_data"]["capture"] == "manual"
    assert session["metadata"] == {"order": "7"}


def test_the_methods_offered_take_the_currency_and_the_amount(merchant_api):
    usd = made(merchant_api, amount=500, currency="USD")
    assert [m["type"] for m in usd["payment_methods"]] == [
        *("credit_card", "zgold", "paysafe_cash", "paysafe_card", "alipay", "wechatpay", "unionpay")
    ]
    assert usd["payment_methods"][0] == method_entry("credit_card", 500, "USD")
    big = made(merchant_api, amount=500_000)  # past konbini (300,000), Pay-easy, prepaid, Merpay...
    assert "konbini" not in [m["type"] for m in big["payment_methods"]]
    assert "credit_card" in [m["type"] for m in big["payment_methods"]]


def test_customer_sessions_offer_cards_and_need_no_amount(merchant_api):
    session = made(merchant_api, mode="customer", amount=None)
    assert session["mode"] == "customer"
    assert session["amount"] == 0
    assert session["payment_methods"] == [method_entry("credit_card", 0)]
    assert session["customer_id"] is None
    assert "payment" not in session and "payment_data" not in session
    both = made(merchant_api, mode="customer_payment")
    assert both["payment"] is None and both["customer_id"] is None
    assert both["payment_methods"] == [method_entry("credit_card")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"amount": None}, error("missing_parameter", "amount")),
        ({"amount": 0}, error("invalid_parameter", "amount")),
        ({"amount": -5}, error("invalid_parameter", "amount")),
        ({"amount": "ten"}, error("invalid_parameter", "amount")),
        ({"currency": None}, error("missing_parameter", "currency")),
        ({"currency": "ZAR"}, error("invalid_currency", "currency")),
        ({"mode": "subscription"}, error("invalid_parameter", "mode")),
        ({"return_url": "not a url"}, error("invalid_parameter", "return_url")),
        ({"default_locale": "fr"}, error("invalid_parameter", "default_locale")),
        ({"email": "nobody"}, error("invalid_parameter", "email")),
        ({"expires_in_seconds": 0}, error("invalid_parameter", "expires_in_seconds")),
        ({"expires_in_seconds": 86_401}, error("invalid_parameter", "expires_in_seconds")),
        ({"expires_in_seconds": "soon"}, error("invalid_parameter", "expires_in_seconds")),
        ({"metadata": "x"}, error("invalid_parameter", "metadata")),
        ({"line_items": "x"}, error("invalid_parameter", "line_items")),
        ({"line_items": [{"amount": -1}]}, error("invalid_parameter", "line_items[0][amount]")),
        ({"line_items": [{"quantity": 0}]}, error("invalid_parameter", "line_items[0][quantity]")),
        ({"line_items": [{"image": "nope"}]}, error("invalid_parameter", "line_items[0][image]")),
        ({"payment_data": "x"}, error("invalid_parameter", "payment_data")),
        ({"payment_data": {"capture": "later"}}, error("invalid_parameter", "payment_data[capture]")),
        ({"payment_data": {"billing_address": "x"}}, error("invalid_parameter", "payment_data[billing_address]")),
        ({"mode": "customer", "customer_id": "cust$"}, error("invalid_parameter", "customer_id")),
        ({"mode": "customer", "customer_id": "a" * 25}, error("invalid_parameter", "customer_id")),
    ],
)
def test_bad_fields_answer_komoju_errors_and_make_nothing(merchant_api, body, expected):
    response = new_session(merchant_api, **body)
    assert (response.status_code, response.json()) == (422, expected)


def test_linepay_is_offered_when_named_since_line_pay_is_the_same_wallet(merchant_api):
    # A session naming no types offers LINE Pay once, as the document's line_pay.
    assert "linepay" not in [m["type"] for m in made(merchant_api)["payment_methods"]]
    named = made(merchant_api, payment_types=["linepay"])
    assert [m["type"] for m in named["payment_methods"]] == ["linepay"]
    paid = pay(merchant_api, named["id"], {"type": "linepay"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment"]["payment_details"]["type"] == "linepay"


def test_payment_types_must_be_methods_the_session_can_take(merchant_api):
    unknown = new_session(merchant_api, payment_types=["bitcoin"])
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "invalid_payment_type"
    assert unknown.json()["error"]["param"] == "payment_types"
    assert unknown.json()["error"]["message"].startswith(
        "Payment method was invalid. bitcoin is not one of credit_card,"
    )
    wrong_currency = new_session(merchant_api, currency="USD", payment_types=["credit_card", "konbini"])
    assert wrong_currency.json() == error(
        "invalid_payment_type",
        "payment_types",
        message=(
            "Payment method was invalid. konbini is not one of "
            "credit_card, zgold, paysafe_cash, paysafe_card, alipay, wechatpay, unionpay."
        ),
    )
    not_a_customer_method = new_session(merchant_api, mode="customer", payment_types=["konbini"])
    assert not_a_customer_method.json() == error(
        "invalid_payment_type",
        "payment_types",
        message="Payment method was invalid. konbini is not one of credit_card.",
    )


def test_keys_and_merchants_see_only_their_sessions(server, merchant_api, merchant, api):
    session = made(merchant_api)
    assert api.get(f"/sessions/{session['id']}").json() == error("not_found")
    assert merchant_api.get("/sessions/nosuchsession").status_code == 404
    with server.client(merchant["test_publishable_key"]) as public:
        assert public.get(f"/sessions/{session['id']}").json() == session
        assert public.post("/sessions", json={"amount": 1, "currency": "JPY"}).status_code == 403
        assert public.post(f"/sessions/{session['id']}/cancel").status_code == 403
    with server.client(merchant["live_secret_key"]) as live:
        assert live.get(f"/sessions/{session['id']}").status_code == 404


def test_each_merchant_s_sessions_name_that_merchant(server, merchant_api):
    """The shop's name is read once per merchant and kept: never another merchant's."""
    other = server.new_merchant("Another Shop")
    with server.client(other["test_secret_key"]) as other_api:
        for _ in range(2):
            assert made(merchant_api)["merchant"] == {"name": "merchant"}
            assert made(other_api)["merchant"] == {"name": "Another Shop"}
            session = made(other_api)
            assert other_api.get(f"/sessions/{session['id']}").json()["merchant"] == {"name": "Another Shop"}


# -- paying -----------------------------------------------------------------------------------


def test_paying_by_card_makes_a_captured_payment_and_completes_the_session(merchant_api, server):
    order = order_num()
    session = made(merchant_api, return_url=RETURN_URL, metadata={"k": "v"}, payment_data={"external_order_num": order})
    response = pay(merchant_api, session["id"], card())
    assert response.status_code == 200, response.text
    paid = response.json()
    payment = paid["payment"]
    assert paid == {
        "redirect_url": f"{RETURN_URL}?session_id={session['id']}",
        "status": "completed",
        "payment": payment,
    }
    assert payment["status"] == "captured"
    assert (payment["amount"], payment["tax"], payment["total"]) == (1000, 0, 1000)
    assert payment["session"] == session["id"]
    assert payment["external_order_num"] == order
    assert payment["metadata"] == {"k": "v"}
    assert payment["payment_details"]["last_four_digits"] == "1111"
    assert merchant_api.get(f"/payments/{payment['id']}").json() == payment
    shown = merchant_api.get(f"/sessions/{session['id']}").json()
    assert shown == {**session, "status": "completed", "completed_at": TIME, "payment": payment}
    assert shown["completed_at"] == payment["created_at"]


def test_an_ordinary_payment_has_no_session(merchant_api):
    response = merchant_api.post("/payments", json={"amount": 100, "currency": "JPY", "payment_details": card()})
    assert response.json()["session"] is None


def test_a_declined_card_leaves_the_session_pending_for_another_try(merchant_api):
    order = order_num()
    session = made(merchant_api, payment_data={"external_order_num": order})
    declined = pay(merchant_api, session["id"], card("4123111111111059"))
    assert (declined.status_code, declined.json()) == (502, error("card_declined"))
    assert merchant_api.get(f"/sessions/{session['id']}").json() == session
    assert merchant_api.get("/payments", params={"external_order_num": order}).json()["total"] == 0
    again = pay(merchant_api, session["id"], card())
    assert again.status_code == 200
    assert merchant_api.get("/payments", params={"external_order_num": order}).json()["total"] == 1


def test_a_scenario_header_fails_the_session_payment(merchant_api):
    session = made(merchant_api)
    response = merchant_api.post(
        f"/sessions/{session['id']}/pay", json={"payment_details": card()}, headers={"Komoju-Scenario": "exceeds_limit"}
    )
    assert (response.status_code, response.json()) == (502, error("exceeds_limit"))
    assert merchant_api.get(f"/sessions/{session['id']}").json()["status"] == "pending"


def test_manual_capture_leaves_the_card_payment_authorized(merchant_api):
    session = made(merchant_api, payment_data={"capture": "manual"})
    payment = pay(merchant_api, session["id"], card()).json()["payment"]
    assert payment["status"] == "authorized"
    assert merchant_api.post(f"/payments/{payment['id']}/capture").json()["status"] == "captured"
    # The pay request's own `capture` decides over the session's.
    other = made(merchant_api, payment_data={"capture": "manual"})
    assert pay(merchant_api, other["id"], card(), capture="auto").json()["payment"]["status"] == "captured"


def test_konbini_goes_to_the_slips_instructions_with_the_sessions_email(merchant_api, server):
    session = made(merchant_api, email="buyer@example.com", return_url=RETURN_URL)
    response = pay(merchant_api, session["id"], {"type": "konbini", "store": "lawson"})
    assert response.status_code == 200, response.text
    paid = response.json()
    payment = paid["payment"]
    assert payment["status"] == "authorized"
    assert payment["payment_details"]["email"] == "buyer@example.com"
    assert paid["redirect_url"] == payment["payment_details"]["instructions_url"]
    assert paid["redirect_url"] == f"{server.url}/instructions/{payment['id']}"


def test_customer_email_fills_the_details_email(merchant_api):
    session = made(merchant_api)
    missing = pay(merchant_api, session["id"], {"type": "konbini", "store": "lawson"})
    assert missing.json() == error("missing_parameter", "payment_details[email]")
    paid = pay(merchant_api, session["id"], {"type": "konbini", "store": "lawson"}, customer_email="c@example.com")
    assert paid.json()["payment"]["payment_details"]["email"] == "c@example.com"


def test_a_redirect_method_goes_to_its_redirect_url(merchant_api):
    session = made(merchant_api, return_url=RETURN_URL)
    paid = pay(merchant_api, session["id"], {"type": "line_pay"}).json()
    assert paid["payment"]["status"] == "authorized"
    assert paid["redirect_url"] == paid["payment"]["payment_details"]["redirect_url"]


def test_without_a_return_url_a_card_has_nowhere_to_go(merchant_api):
    session = made(merchant_api)
    assert pay(merchant_api, session["id"], card()).json()["redirect_url"] is None


def test_only_the_sessions_methods_pay_it(merchant_api):
    session = made(merchant_api, payment_types=["konbini"])
    response = pay(merchant_api, session["id"], card())
    assert response.json() == error(
        "invalid_payment_type",
        "payment_details[type]",
        message="Payment method was invalid. credit_card is not one of konbini.",
    )
    assert pay(merchant_api, session["id"], {"store": "lawson"}).json() == error(
        "missing_parameter", "payment_details[type]"
    )
    assert pay(merchant_api, session["id"], None).json() == error("missing_parameter", "payment_details")
    assert pay(merchant_api, session["id"], 12).json() == error("invalid_parameter", "payment_details")
    bad_card = made(merchant_api)
    assert pay(merchant_api, bad_card["id"], card("4111111111111112")).json() == error(
        "invalid_parameter", "payment_details[number]"
    )


def test_a_token_pays_once(server, merchant, merchant_api):
    with server.client(merchant["test_publishable_key"]) as public:
        token = public.post("/tokens", json={"payment_details": card()}).json()["id"]
        session = made(merchant_api)
        # The customer's browser pays with the publishable key.
        paid = pay(public, session["id"], token)
        assert paid.status_code == 200, paid.text
        assert paid.json()["payment"]["payment_details"]["last_four_digits"] == "1111"
        other = made(merchant_api)
        assert pay(public, other["id"], token).json() == error(
            "invalid_token", "payment_details", message="The token you requested is invalid"
        )
        konbini_only = made(merchant_api, payment_types=["konbini"])
        token2 = public.post("/tokens", json={"payment_details": card()}).json()["id"]
        assert pay(public, konbini_only["id"], token2).json() == error(
            "invalid_payment_type",
            "payment_details",
            message="Payment method was invalid. credit_card is not one of konbini.",
        )


def test_a_completed_or_cancelled_session_cannot_be_paid(merchant_api):
    session = made(merchant_api)
    assert pay(merchant_api, session["id"], card()).status_code == 200
    again = pay(merchant_api, session["id"], card())
    assert (again.status_code, again.json()) == (422, unprocessable("This session has already been completed."))
    cancelled = made(merchant_api)
    assert merchant_api.post(f"/sessions/{cancelled['id']}/cancel").status_code == 200
    refused = pay(merchant_api, cancelled["id"], card())
    assert (refused.status_code, refused.json()) == (422, unprocessable("This session has been cancelled."))


def test_paying_is_idempotent_with_a_key(merchant_api):
    order = order_num()
    session = made(merchant_api, payment_data={"external_order_num": order})
    headers = {"X-KOMOJU-IDEMPOTENCY": "pay-" + order}
    first = merchant_api.post(f"/sessions/{session['id']}/pay", json={"payment_details": card()}, headers=headers)
    second = merchant_api.post(f"/sessions/{session['id']}/pay", json={"payment_details": card()}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert merchant_api.get("/payments", params={"external_order_num": order}).json()["total"] == 1


# -- customer modes ---------------------------------------------------------------------------


def test_customer_mode_saves_the_card_as_a_customer_and_pays_nothing(merchant_api):
    session = made(merchant_api, mode="customer", email="keep@example.com", return_url=RETURN_URL)
    response = pay(merchant_api, session["id"], card())
    assert response.status_code == 200, response.text
    paid = response.json()
    customer = paid["customer"]
    assert paid == {
        "redirect_url": f"{RETURN_URL}?session_id={session['id']}",
        "status": "completed",
        "customer": customer,
    }
    assert customer["email"] == "keep@example.com"
    assert customer["payment_details"] == {
        "type": "credit_card",
        "email": "keep@example.com",  # the session's email, as the card's
        "brand": "visa",
        "last_four_digits": "1111",
        "month": 1,
        "year": 2030,
    }
    assert merchant_api.get(f"/customers/{customer['id']}").json() == customer
    shown = merchant_api.get(f"/sessions/{session['id']}").json()
    assert (shown["status"], shown["customer_id"]) == ("completed", customer["id"])
    assert merchant_api.get("/payments").json()["total"] == 0
    # The saved card pays later.
    later = merchant_api.post("/payments", json={"amount": 500, "currency": "JPY", "customer": customer["id"]})
    assert later.json()["status"] == "captured"


def test_customer_payment_mode_pays_and_saves(merchant_api):
    session = made(merchant_api, mode="customer_payment")
    paid = pay(merchant_api, session["id"], card("5555555555554444")).json()
    customer, payment = paid["customer"], paid["payment"]
    assert payment["customer"] == customer["id"]
    assert payment["session"] == session["id"]
    assert customer["payment_details"]["brand"] == "master"
    shown = merchant_api.get(f"/sessions/{session['id']}").json()
    assert (shown["customer_id"], shown["payment"]) == (customer["id"], payment)


def test_a_declined_customer_payment_saves_no_customer(merchant_api):
    session = made(merchant_api, mode="customer_payment")
    assert pay(merchant_api, session["id"], card("4123111111111000")).status_code == 502
    assert merchant_api.get("/customers").json()["total"] == 0
    assert merchant_api.get(f"/sessions/{session['id']}").json()["status"] == "pending"


def test_a_customer_session_can_renew_an_existing_customers_card(merchant_api):
    customer = merchant_api.post("/customers", json={"payment_details": card()}).json()
    session = made(merchant_api, mode="customer", customer_id=customer["id"])
    assert session["customer_id"] == customer["id"]
    paid = pay(merchant_api, session["id"], card("3530111333300000")).json()
    assert paid["customer"]["id"] == customer["id"]
    assert merchant_api.get(f"/customers/{customer['id']}").json()["payment_details"]["brand"] == "jcb"
    assert merchant_api.get("/customers").json()["total"] == 1


# -- cancelling and expiring ------------------------------------------------------------------


def test_cancelling(merchant_api):
    session = made(merchant_api, return_url=RETURN_URL)
    response = merchant_api.post(f"/sessions/{session['id']}/cancel")
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled == {**session, "status": "cancelled", "cancelled_at": TIME}
    assert merchant_api.post(f"/sessions/{session['id']}/cancel").json() == cancelled  # again: as it is
    assert merchant_api.get(f"/sessions/{session['id']}").json() == cancelled
    completed = made(merchant_api)
    pay(merchant_api, completed["id"], card())
    refused = merchant_api.post(f"/sessions/{completed['id']}/cancel")
    assert (refused.status_code, refused.json()) == (
        422,
        error("not_cancellable", message="This session has already been completed and cannot be cancelled."),
    )
    assert merchant_api.post("/sessions/nosuchsession/cancel").json() == error("not_found")


def test_a_session_expires_on_the_sandbox_clock(merchant_api, server):
    session = made(merchant_api, expires_in_seconds=60)
    assert merchant_api.post("/sandbox/clock/advance", json={"seconds": 59}).status_code == 200
    assert merchant_api.get(f"/sessions/{session['id']}").json()["expired"] is False
    assert merchant_api.post("/sandbox/clock/advance", json={"seconds": 1}).status_code == 200
    shown = merchant_api.get(f"/sessions/{session['id']}").json()
    assert (shown["status"], shown["expired"]) == ("pending", True)
    # The scheduler's timer marked it in the table too, as of its expiry.
    stored = server.run(sessions_table.find(server.runtime.store, session["id"]))
    assert stored is not None and stored.expired_at == stored.expires_at
    refused = pay(merchant_api, session["id"], card())
    assert (refused.status_code, refused.json()) == (422, unprocessable("This session has expired."))
    # An expired session can still be cancelled.
    assert merchant_api.post(f"/sessions/{session['id']}/cancel").json()["status"] == "cancelled"


def test_a_paid_session_never_expires(merchant_api):
    session = made(merchant_api, expires_in_seconds=60)
    pay(merchant_api, session["id"], card())
    merchant_api.post("/sandbox/clock/advance", json={"seconds": 3600})
    shown = merchant_api.get(f"/sessions/{session['id']}").json()
    assert (shown["status"], shown["expired"]) == ("completed", False)


def test_a_sandbox_reset_erases_sessions(merchant_api):
    session = made(merchant_api)
    assert merchant_api.post("/sandbox/reset").json()["erased"]["sessions"] == 1
    assert merchant_api.get(f"/sessions/{session['id']}").status_code == 404


# -- GET /payment_methods ---------------------------------------------------------------------


def test_payment_methods_lists_each_method_and_currency(server, merchant):
    with server.client(merchant["test_publishable_key"]) as public:
        response = public.get("/payment_methods")
    assert response.status_code == 200
    methods = response.json()
    assert isinstance(methods, list)
    by_key = {(m["type_slug"], m["currency"]): m for m in methods}
    assert by_key[("konbini", "JPY")] == {
        "type_slug": "konbini",
        "name_en": "Konbini",
        "name_ja": "コンビニ",
        "name_ko": "편의점",
        "currency": "JPY",
        "payment_method_fee": 0,
        "min_amount": 1,
        "max_amount": 300_000,
        "subtypes": ["seven-eleven", "lawson", "family-mart", "ministop", "daily-yamazaki", "seicomart"],
    }
    assert by_key[("credit_card", "USD")]["subtypes"] == BRANDS
    assert "subtypes" not in by_key[("line_pay", "JPY")]
    # cards take all twenty currencies of KOMOJU's reference
    assert sorted({m["currency"] for m in methods if m["type_slug"] == "credit_card"}) == [
        *("AUD", "BRL", "CAD", "CHF", "CNY", "EUR", "GBP", "HKD", "IDR", "JPY"),
        *("KRW", "MYR", "NZD", "PHP", "PLN", "SGD", "THB", "TWD", "USD", "VND"),
    ]
    assert by_key[("paypay", "JPY")] == {
        "type_slug": "paypay",
        "name_en": "PayPay",
        "name_ja": "PayPay",
        "name_ko": "PayPay",
        "currency": "JPY",
        "payment_method_fee": 0,
        "min_amount": 1,
        "max_amount": 500_000,
    }
    assert len({m["type_slug"] for m in methods}) == 68


# -- browsers (CORS) ----------------------------------------------------------------------------

ORIGIN = "https://shop.example"


def preflight(server, path: str, method: str) -> httpx.Response:
    with server.client(None) as anonymous:
        return anonymous.options(
            path,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/sessions/bncg5974hoii95erwy2gqx7vz", "GET"),
        ("POST", "/sessions/bncg5974hoii95erwy2gqx7vz/pay", "POST"),
        ("GET", "/payment_methods", "GET"),
    ],
)
def test_what_a_page_may_call_of_sessions_is_open_to_browsers(server, method, path, allowed):
    response = preflight(server, path, method)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == allowed


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/sessions"), ("POST", "/sessions/bncg5974hoii95erwy2gqx7vz/cancel")]
)
def test_making_and_cancelling_sessions_stay_closed_to_browsers(server, method, path):
    response = preflight(server, path, method)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_a_page_pays_a_session_from_another_origin(server, merchant, merchant_api):
    session = made(merchant_api)
    with server.client(merchant["test_publishable_key"], headers={"Origin": ORIGIN}) as page:
        shown = page.get(f"/sessions/{session['id']}")
        declined = pay(page, session["id"], card("4123111111111059"))
        paid = pay(page, session["id"], card())
    assert shown.headers["access-control-allow-origin"] == "*"
    assert (declined.status_code, declined.headers["access-control-allow-origin"]) == (502, "*")
    assert (paid.status_code, paid.json()["status"]) == (200, "completed")
