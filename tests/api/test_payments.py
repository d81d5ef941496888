"""The /payments endpoints served in process on both databases: parsing, limits, the life of a
payment (capture, refund, cancel, update, prepaid continuation), lists, scenarios, live keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.payment_support import (
    BANK_ACCOUNT,
    TIME,
    card,
    count,
    created,
    days_later,
    end_of_jst_day,
    error,
    fmt,
    konbini,
    order_num,
    parse_time,
    pay,
    prepaid,
    refund_object,
)

ALLOWED_TYPES = (
    "credit_card, konbini, bank_transfer, pay_easy, web_money, net_cash, bit_cash, nanaco, steam_prepaid_card, "
    "japan_mobile, mobile, line_pay, merpay, paidy, happy_money, culture_voucher, toss, cvs, dospara, zgold, "
    "paysafe_cash, paysafe_card, nexus_transfer, "
    "paypay, rakutenpay, aupay, linepay, epospay, komoju_pay, docomo, au, softbank, credit_card_korea, "
    "kakaopay, naverpay, payco, alipay, alipay_hk, wechatpay, unionpay, dana, ovo, doku_wallet, gcash, "
    "dragonpay, grabpayotp, tng, fpx, enets, truemoney, ideal, bancontact, eps, giropay, sofortbanking, "
    "mybank, paysera, payu, blik, przelewy24, multibanco, sepa_transfer, narvesen, perlas, paypost, "
    "poli, credit_card_brazil, pix"
)


# -- payment types and currencies --------------------------------------------------------


@pytest.mark.parametrize("type_", ["bogus", "CREDIT_CARD", "credit card"])
def test_an_unknown_type_lists_the_allowed_types(api, type_):
    response = pay(api, {"type": type_})
    assert response.status_code == 422
    assert response.json() == error(
        "invalid_payment_type",
        "payment_details[type]",
        f"Payment method was invalid. {type_} is not one of {ALLOWED_TYPES}.",
    )


def test_payment_details_or_customer_is_required(api):
    response = api.post("/payments", json={"amount": 1000, "currency": "JPY"})
    assert response.status_code == 422
    assert response.json() == error("missing_parameter", "payment_details")


@pytest.mark.parametrize("details", [["credit_card"], 5, {"number": "4111111111111111"}])
def test_payment_details_must_be_a_hash_with_a_type(api, details):
    response = pay(api, details)
    assert response.status_code == 422
    param = "payment_details[type]" if isinstance(details, dict) else "payment_details"
    code = "missing_parameter" if isinstance(details, dict) else "invalid_parameter"
    assert response.json() == error(code, param)


@pytest.mark.parametrize("currency", ["XXX", "yen", "JP", 392])
def test_an_unknown_currency_is_invalid_currency(api, currency):
    response = pay(api, card(), currency=currency)
    assert response.status_code == 422
    assert response.json() == error("invalid_currency", "currency")


@pytest.mark.parametrize("currency", [None, ""])
def test_a_missing_currency_is_missing_parameter(api, currency):
    response = pay(api, card(), currency=currency)
    assert response.status_code == 422
    assert response.json() == error("missing_parameter", "currency")


@pytest.mark.parametrize(("given", "answered"), [("JPY", "JPY"), ("jpy", "JPY"), ("USD", "USD"), ("EUR", "EUR")])
def test_a_known_currency_is_answered_in_upper_case(api, given, answered):
    got = created(api, card(), currency=given)
    assert got["currency"] == answered


@pytest.mark.parametrize("currency", ["JPY", "KRW", "USD", "EUR", "TWD"])
def test_cards_take_every_currency_of_the_schema(api, currency):
    got = created(api, card(), amount=500, currency=currency)
    assert (got["currency"], got["amount"], got["tax"], got["total"]) == (currency, 500, 50, 550)


# -- amount and tax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "tax", "want"),
    [
        (1000, None, (1000, 100)),
        ("1000", None, (1000, 100)),
        ("10.0", None, (10, 1)),
        (1000.0, None, (1000, 100)),
        (" 1000 ", None, (1000, 100)),
        (0, 1, (0, 1)),
        (1000, "auto", (1000, 100)),
        (1000, "AUTO", (1000, 100)),
        (1000, "", (1000, 100)),
        (1000, 0, (1000, 0)),
        (1000, "0", (1000, 0)),
        (1000, "10.0", (1000, 10)),
        (1000, 10.4, (1000, 10)),
        (1000, "10.5", (1000, 11)),
        (1000, 10.5, (1000, 11)),
        (1000, "2.5", (1000, 3)),  # half up, not half to even
        (5, None, (5, 1)),  # 0.5 rounds up
        (15, "auto", (15, 2)),
        (25, None, (25, 3)),
        (24, None, (24, 2)),
        (9_999_999, 0, (9_999_999, 0)),
    ],
)
def test_amount_and_tax_are_parsed_from_numbers_and_strings(api, amount, tax, want):
    body: dict[str, Any] = {"amount": amount, "currency": "JPY", "payment_details": card()}
    if tax is not None:
        body["tax"] = tax
    response = api.post("/payments", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["amount"], got["tax"], got["total"]) == (*want, want[0] + want[1])


@pytest.mark.parametrize(
    "amount",
    [-1, "-1", "abc", "10.5", 10.5, "1,000", "1_000", "１００", "0x10", "1e3", 10_000_000, "10000000", True, [1], {}],
)
def test_a_bad_amount_is_invalid_parameter(api, amount):
    order = order_num()
    response = pay(api, card(), amount=amount, external_order_num=order)
    assert response.status_code == 422, response.text
    assert response.json() == error("invalid_parameter", "amount")
    assert count(api, external_order_num=order) == 0


@pytest.mark.parametrize("amount", [None, ""])
def test_a_missing_amount_is_missing_parameter(api, amount):
    response = pay(api, card(), amount=amount)
    assert response.status_code == 422
    assert response.json() == error("missing_parameter", "amount")


@pytest.mark.parametrize("tax", [-1, "-0.5", "abc", "1,0", 10_000_000, True, {"a": 1}])
def test_a_bad_tax_is_invalid_parameter(api, tax):
    response = pay(api, card(), tax=tax)
    assert response.status_code == 422, response.text
    assert response.json() == error("invalid_parameter", "tax")


@pytest.mark.parametrize(
    ("details", "amount", "tax", "total"),
    [
        (konbini(), 272_727, "auto", 300_000),  # 272,727 + 27,273
        (konbini(), 272_728, "auto", None),  # 272,728 + 27,273 = 300,001
        (konbini(), 300_000, 1, None),
        (konbini(), 0, 0, None),  # a total of 0 is below the least
        (konbini(), 0, 1, 1),
        (card(), 9_999_999, 1, None),  # the total is held to KOMOJU's maximum too
        (card(), 0, 0, None),
        ({"type": "merpay"}, 1_000_000, 0, 1_000_000),
        ({"type": "merpay"}, 1_000_000, 1, None),
        ({"type": "japan_mobile", "brand": "au"}, 100_000, 0, 100_000),
        ({"type": "japan_mobile", "brand": "au"}, 100_001, 0, None),
        (prepaid("web_money"), 200_001, 0, None),
    ],
)
def test_method_limits_apply_to_the_total(api, details, amount, tax, total):
    order = order_num()
    response = pay(api, details, amount=amount, tax=tax, external_order_num=order)
    if total is not None:
        assert response.status_code in (200, 202), response.text
        assert response.json()["total"] == total
    else:
        assert response.status_code == 422, response.text
        assert response.json() == error("invalid_parameter", "amount")
        assert count(api, external_order_num=order) == 0


@pytest.mark.parametrize(
    ("type_", "most"),
    [("pay_easy", 999_999), ("bank_transfer", 9_999_999)],
)
def test_delayed_method_maxima(api, type_, most):
    names = {
        "given_name": "太郎",
        "family_name": "山田",
        "given_name_kana": "タロウ",
        "family_name_kana": "ヤマダ",
        "phone": "08011112222",
        "email": "a@example.com",
    }
    assert pay(api, {"type": type_, **names}, amount=most, tax=0).status_code == 200
    response = pay(api, {"type": type_, **names}, amount=most, tax=1)
    assert response.json() == error("invalid_parameter", "amount")


# -- form and JSON -----------------------------------------------------------------------

GENERATED = ("id", "created_at", "captured_at", "payment_deadline")


def _same(a: dict[str, Any], b: dict[str, Any], also: tuple[str, ...] = ()) -> None:
    strip = lambda p: {k: v for k, v in p.items() if k not in GENERATED}  # noqa: E731
    a, b = strip(a), strip(b)
    for name in also:
        a["payment_details"].pop(name), b["payment_details"].pop(name)
    assert a == b


def test_form_and_json_bodies_give_the_same_card_payment(api):
    form = api.post(
        "/payments",
        data={
            "amount": "1000",
            "currency": "JPY",
            "tax": "10.5",
            "capture": "false",
            "locale": "en",
            "description": "form or json",
            "external_order_num": "same-1",
            "metadata[a]": "1",
            "metadata[b]": "two",
            "fraud_details[customer_ip]": "192.0.2.1",
            "payment_details[type]": "credit_card",
            "payment_details[number]": "5555555555554444",
            "payment_details[month]": "09",
            "payment_details[year]": "2030",
            "payment_details[verification_value]": "123",
            "payment_details[email]": "a@example.com",
            "debug": "true",
        },
    )
    json_ = api.post(
        "/payments",
        json={
            "amount": 1000,
            "currency": "JPY",
            "tax": 10.5,
            "capture": False,
            "locale": "en",
            "description": "form or json",
            "external_order_num": "same-1",
            "metadata": {"a": 1, "b": "two"},
            "fraud_details": {"customer_ip": "192.0.2.1"},
            "payment_details": {
                "type": "credit_card",
                "number": "5555555555554444",
                "month": 9,
                "year": 2030,
                "verification_value": 123,
                "email": "a@example.com",
            },
            "debug": True,
        },
    )
    assert form.status_code == json_.status_code == 200, (form.text, json_.text)
    a, b = form.json(), json_.json()
    assert a["status"] == "authorized"
    assert a["payment_details"] == {
        "type": "credit_card",
        "email": "a@example.com",
        "brand": "master",
        "last_four_digits": "4444",
        "month": 9,
        "year": 2030,
    }
    assert (a["tax"], a["total"], a["locale"], a["metadata"]) == (11, 1011, "en", {"a": "1", "b": "two"})
    # Metadata is kept as sent: a form can only send strings, JSON keeps its number.
    assert b["metadata"] == {"a": 1, "b": "two"}
    b["metadata"] = a["metadata"]
    _same(a, b)


def test_form_and_json_bodies_give_the_same_konbini_payment(api):
    fields = {"amount": "500", "currency": "JPY", "tax": "0"}
    details = {"type": "konbini", "store": "family-mart", "email": "a@example.com", "expiry_days": "5"}
    form = api.post("/payments", data={**fields, **{f"payment_details[{k}]": v for k, v in details.items()}})
    json_ = api.post("/payments", json={**fields, "payment_details": {**details, "expiry_days": 5}})
    assert form.status_code == json_.status_code == 200
    a, b = form.json(), json_.json()
    for got in (a, b):
        assert got["payment_deadline"] == end_of_jst_day(got["created_at"], 5)
    _same(a, b, also=("receipt", "confirmation_code", "instructions_url"))


def test_form_and_json_errors_are_the_same(api):
    form = api.post("/payments", data={"amount": "1000", "currency": "JPY", "payment_details[type]": "konbini"})
    json_ = api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": {"type": "konbini"}})
    assert form.status_code == json_.status_code == 422
    assert form.json() == json_.json() == error("missing_parameter", "payment_details[store]")


# -- the other request fields ------------------------------------------------------------


def test_metadata_keys_up_to_30_and_values_up_to_2000_characters(api):
    metadata = {"k" * 30: "v" * 2000, "n": 5, "t": True}
    got = created(api, card(), metadata=metadata)
    assert got["metadata"] == {"k" * 30: "v" * 2000, "n": 5, "t": True}


@pytest.mark.parametrize(
    ("metadata", "param"),
    [
        ({"k" * 31: "v"}, "metadata[" + "k" * 31 + "]"),
        ({"key": "v" * 2001}, "metadata[key]"),
        ({"key": {"nested": "v" * 2001}}, "metadata[key][nested]"),
        ({"key": ["x", "v" * 2001]}, "metadata[key][1]"),
        ("just a string", "metadata"),
        ([1, 2], "metadata"),
        ({f"k{i}": "v" for i in range(51)}, "metadata"),
    ],
)
def test_metadata_beyond_the_limits_is_invalid(api, metadata, param):
    response = pay(api, card(), metadata=metadata)
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", param)


def test_external_order_num_up_to_255_characters(api):
    assert created(api, card(), external_order_num="x" * 255)["external_order_num"] == "x" * 255
    response = pay(api, card(), external_order_num="x" * 256)
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "external_order_num")


@pytest.mark.parametrize(("given", "answered"), [(None, "ja"), ("ja", "ja"), ("en", "en"), ("ko", "ko")])
def test_locale(api, given, answered):
    assert created(api, konbini(), locale=given)["locale"] == answered


@pytest.mark.parametrize("locale", ["fr", "EN", "japanese"])
def test_an_unknown_locale_is_invalid(api, locale):
    response = pay(api, card(), locale=locale)
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "locale")


@pytest.mark.parametrize(
    "fraud",
    [
        {"customer_ip": "192.0.2.1"},
        {"customer_ip": "2001:db8::1"},
        {"customer_ip": "::ffff:192.0.2.1"},
        {"customer_id": "cus-1"},  # the schema makes only email, language and agent depend on the ip
        {
            "customer_ip": "203.0.113.9",
            "customer_email": "a@example.com",
            "customer_id": "cus-1",
            "browser_language": "ja-JP",
            "browser_user_agent": "Mozilla/5.0",
        },
    ],
)
def test_fraud_details_accepted(api, fraud):
    assert created(api, card(), fraud_details=fraud)["status"] == "captured"


@pytest.mark.parametrize(
    ("fraud", "code", "param"),
    [
        ({"customer_ip": "300.1.1.1"}, "invalid_parameter", "fraud_details[customer_ip]"),
        ({"customer_ip": "localhost"}, "invalid_parameter", "fraud_details[customer_ip]"),
        ({"customer_ip": "2001:db8::g"}, "invalid_parameter", "fraud_details[customer_ip]"),
        ({"customer_email": "a@example.com"}, "missing_parameter", "fraud_details[customer_ip]"),
        ({"browser_language": "ja"}, "missing_parameter", "fraud_details[customer_ip]"),
        ({"browser_user_agent": "Mozilla/5.0"}, "missing_parameter", "fraud_details[customer_ip]"),
        ({"customer_ip": "192.0.2.1", "customer_email": "nope"}, "invalid_parameter", "fraud_details[customer_email]"),
        ({"customer_ip": "192.0.2.1", "shoe_size": "9"}, "invalid_parameter", "fraud_details[shoe_size]"),
        ("192.0.2.1", "invalid_parameter", "fraud_details"),
    ],
)
def test_bad_fraud_details(api, fraud, code, param):
    response = pay(api, card(), fraud_details=fraud)
    assert response.status_code == 422
    assert response.json() == error(code, param)


# -- capture -----------------------------------------------------------------------------


@pytest.mark.parametrize("capture", [False, "false", "0"])
def test_authorize_then_capture(api, capture):
    authorized = created(api, card(), capture=capture)
    assert (authorized["status"], authorized["captured_at"]) == ("authorized", None)
    response = api.post(f"/payments/{authorized['id']}/capture")
    assert response.status_code == 200, response.text
    captured = response.json()
    assert captured == {**authorized, "status": "captured", "captured_at": TIME}
    assert parse_time(captured["captured_at"]) >= parse_time(captured["created_at"])
    again = api.post(f"/payments/{authorized['id']}/capture")
    assert again.status_code == 422
    assert again.json() == error("not_capturable")
    assert api.get(f"/payments/{authorized['id']}").json() == captured


def test_capture_true_is_captured_at_once(api):
    got = created(api, card(), capture="true")
    assert got["status"] == "captured"
    assert got["captured_at"] == got["created_at"]
    response = api.post(f"/payments/{got['id']}/capture")
    assert response.json() == error("not_capturable")


@pytest.mark.parametrize("details", [konbini(), {"type": "line_pay"}, prepaid("web_money")])
def test_only_authorized_cards_can_be_captured(api, details):
    got = created(api, details, capture=False)
    response = api.post(f"/payments/{got['id']}/capture")
    assert response.status_code == 422
    assert response.json() == error("not_capturable")


def test_a_bad_capture_flag_is_invalid(api):
    response = pay(api, card(), capture="maybe")
    assert response.json() == error("invalid_parameter", "capture")


# -- refunds and cancels -----------------------------------------------------------------


def test_partial_refunds_then_the_rest(api):
    payment = created(api, card())
    pid = payment["id"]
    first = api.post(f"/payments/{pid}/refund", json={"amount": 300})
    assert first.status_code == 200, first.text
    assert first.json() == {
        **payment,
        "amount_refunded": 300,
        "refunds": [refund_object(pid, 300)],
    }
    second = api.post(f"/payments/{pid}/refund", data={"amount": "500", "description": "damaged box"})
    assert second.status_code == 200
    assert second.json() == {
        **payment,
        "amount_refunded": 800,
        "refunds": [refund_object(pid, 300), refund_object(pid, 500, "damaged box")],
    }
    too_much = api.post(f"/payments/{pid}/refund", json={"amount": 301})
    assert too_much.status_code == 422
    assert too_much.json() == error("not_refundable", "amount")
    last = api.post(f"/payments/{pid}/refund", json={"amount": "300"})
    assert last.status_code == 200
    final = last.json()
    assert final == {
        **payment,
        "status": "refunded",
        "amount_refunded": 1100,
        "refunds": [refund_object(pid, 300), refund_object(pid, 500, "damaged box"), refund_object(pid, 300)],
    }
    assert len({r["id"] for r in final["refunds"]}) == 3
    after = api.post(f"/payments/{pid}/refund", json={"amount": 1})
    assert after.status_code == 422
    assert after.json() == error("not_refundable")
    assert api.get(f"/payments/{pid}").json() == final


def test_a_refund_without_amount_refunds_what_is_left(api):
    payment = created(api, card())
    api.post(f"/payments/{payment['id']}/refund", json={"amount": 100})
    got = api.post(f"/payments/{payment['id']}/refund", json={}).json()
    assert (got["status"], got["amount_refunded"]) == ("refunded", 1100)
    assert [r["amount"] for r in got["refunds"]] == [100, 1000]


@pytest.mark.parametrize("amount", ["abc", -5, "10.5"])
def test_a_bad_refund_amount_is_invalid(api, amount):
    payment = created(api, card())
    response = api.post(f"/payments/{payment['id']}/refund", json={"amount": amount})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "amount")
    assert api.get(f"/payments/{payment['id']}").json() == payment


def test_an_authorized_card_cannot_be_refunded_but_can_be_cancelled(api):
    payment = created(api, card(), capture=False)
    assert api.post(f"/payments/{payment['id']}/refund", json={}).json() == error("not_refundable")
    response = api.post(f"/payments/{payment['id']}/cancel")
    assert response.status_code == 200
    assert response.json() == {**payment, "status": "cancelled"}
    assert api.post(f"/payments/{payment['id']}/capture").json() == error("not_capturable")


@pytest.mark.parametrize("refund_first", [False, True])
def test_a_captured_or_refunded_payment_is_not_cancellable(api, refund_first):
    payment = created(api, card())
    if refund_first:
        api.post(f"/payments/{payment['id']}/refund", json={})
    response = api.post(f"/payments/{payment['id']}/cancel")
    assert response.status_code == 422
    assert response.json() == error("not_cancellable")


def test_refund_request_validates_bank_details(api):
    payment = created(api, prepaid("bit_cash"))
    good = dict(BANK_ACCOUNT)
    for name in good:
        response = api.post(
            f"/payments/{payment['id']}/refund_request", json={k: v for k, v in good.items() if k != name}
        )
        assert response.json() == error("missing_parameter", name)
    for name, value in [
        ("customer_name", "山田太郎"),  # must be half-width kana
        ("bank_code", "12"),
        ("branch_number", "1a3"),
        ("account_type", "gold"),
        ("account_number", "123456789"),
    ]:
        response = api.post(f"/payments/{payment['id']}/refund_request", json={**good, name: value})
        assert response.json() == error("invalid_parameter", name), name
    assert api.post(f"/payments/{payment['id']}/refund_request", json=good).status_code == 200


def test_refund_request_is_refused_for_refundable_or_uncaptured_payments(api):
    for payment in (created(api, card()), created(api, konbini())):
        response = api.post(f"/payments/{payment['id']}/refund_request", json={})
        assert response.status_code == 422
        assert response.json() == error("not_refundable")


# -- updates and prepaid continuation ----------------------------------------------------


def test_patch_description_and_metadata(api):
    payment = created(api, card(), description="before", metadata={"a": "1"})
    response = api.patch(f"/payments/{payment['id']}", json={"description": "after", "metadata": {"b": "2"}})
    assert response.status_code == 200
    assert response.json() == {**payment, "description": "after", "metadata": {"b": "2"}}
    form = api.patch(f"/payments/{payment['id']}", data={"metadata[c]": "3"})
    assert form.json() == {**payment, "description": "after", "metadata": {"c": "3"}}
    assert api.get(f"/payments/{payment['id']}").json() == form.json()


@pytest.mark.parametrize(
    ("body", "param"),
    [({"description": "x" * 256}, "description"), ({"metadata": {"k" * 31: "v"}}, "metadata[" + "k" * 31 + "]")],
)
def test_patch_with_bad_values_changes_nothing(api, body, param):
    payment = created(api, card())
    response = api.patch(f"/payments/{payment['id']}", json=body)
    assert response.json() == error("invalid_parameter", param)
    assert api.get(f"/payments/{payment['id']}").json() == payment


def test_a_short_prepaid_payment_waits_for_another_card(api):
    response = pay(api, prepaid("web_money"), amount=3000)
    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["status"] == "pending"
    assert pending["captured_at"] is None
    # left short, it waits a week for another card (days_later: exactly 7 days on)
    assert (pending["total"], pending["payment_deadline"]) == (3300, days_later(pending["created_at"], 7))
    assert pending["payment_details"] == {
        "type": "web_money",
        "email": None,
        "short_amount": 1300,
        "prepaid_cards": [{"last_four_digits": "1111", "points": 2000}],
    }
    patched = api.patch(f"/payments/{pending['id']}", json={"payment_details": {"prepaid_number": "1111111111111111"}})
    assert patched.status_code == 200, patched.text
    done = patched.json()
    assert done == {
        **pending,
        "status": "captured",
        "captured_at": TIME,
        "payment_details": {
            "type": "web_money",
            "email": None,
            "short_amount": 0,
            "prepaid_cards": [
                {"last_four_digits": "1111", "points": 2000},
                {"last_four_digits": "1111", "points": 1300},
            ],
        },
    }
    assert api.get(f"/payments/{pending['id']}").json() == done
    again = api.patch(f"/payments/{pending['id']}", json={"payment_details": {"prepaid_number": "1111111111111111"}})
    assert again.status_code == 422
    assert again.json() == error("invalid_parameter", "payment_details")


@pytest.mark.parametrize("type_", ["web_money", "net_cash", "nanaco", "steam_prepaid_card"])
def test_continuable_prepaid_methods_take_three_cards_by_form(api, type_):
    pending = pay(api, prepaid(type_), amount=5000).json()  # total 5500
    assert pending["payment_details"]["short_amount"] == 3500
    second = api.patch(
        f"/payments/{pending['id']}",
        data={"payment_details[type]": type_, "payment_details[prepaid_number]": "1111111111111111"},
    )
    assert second.status_code == 202
    assert second.json()["status"] == "pending"
    assert second.json()["payment_details"]["short_amount"] == 1500
    third = api.patch(f"/payments/{pending['id']}", data={"payment_details[prepaid_number]": "1111111111111111"})
    assert third.status_code == 200
    got = third.json()
    assert got["status"] == "captured"
    assert got["payment_details"]["short_amount"] == 0
    assert [c["points"] for c in got["payment_details"]["prepaid_cards"]] == [2000, 2000, 1500]


def test_a_declined_continuation_leaves_the_payment_pending(api):
    pending = pay(api, prepaid("web_money"), amount=3000).json()
    for number, code in [("e111111111111113", "used_number"), ("e111111111111112", "invalid_number")]:
        response = api.patch(f"/payments/{pending['id']}", json={"payment_details": {"prepaid_number": number}})
        assert response.status_code == 502
        assert response.json() == error(code)
    bad = api.patch(f"/payments/{pending['id']}", json={"payment_details": {"prepaid_number": "123"}})
    assert bad.json() == error("invalid_parameter", "payment_details[prepaid_number]")
    other = api.patch(
        f"/payments/{pending['id']}", json={"payment_details": {"type": "net_cash", "prepaid_number": "1" * 16}}
    )
    assert other.json() == error("invalid_parameter", "payment_details[type]")
    assert api.get(f"/payments/{pending['id']}").json() == pending


def test_a_pending_prepaid_payment_can_be_cancelled(api):
    pending = pay(api, prepaid("net_cash"), amount=3000).json()
    response = api.post(f"/payments/{pending['id']}/cancel")
    assert response.status_code == 200
    assert response.json() == {**pending, "status": "cancelled"}
    again = api.patch(f"/payments/{pending['id']}", json={"payment_details": {"prepaid_number": "1111111111111111"}})
    assert again.json() == error("invalid_parameter", "payment_details")


@pytest.mark.parametrize("details", [card(), konbini(), prepaid("web_money")])
def test_patching_payment_details_of_a_payment_that_is_not_pending_is_invalid(api, details):
    payment = created(api, details)
    response = api.patch(f"/payments/{payment['id']}", json={"payment_details": {"prepaid_number": "1111111111111111"}})
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "payment_details")
    assert api.get(f"/payments/{payment['id']}").json() == payment


def test_bit_cash_cannot_be_left_short(api):
    order = order_num()
    response = pay(api, prepaid("bit_cash"), amount=3000, external_order_num=order)
    assert response.status_code == 502
    assert response.json() == error("insufficient_funds")
    assert count(api, external_order_num=order) == 0


# -- lists -------------------------------------------------------------------------------


def test_list_filters(merchant_api):
    a = created(merchant_api, card(), external_order_num="A")
    b = created(merchant_api, konbini(), external_order_num="B")
    c = created(merchant_api, card(), currency="USD", external_order_num="C")
    d = created(merchant_api, card(), capture=False, external_order_num="A")
    everything = [d, c, b, a]  # newest first

    def ids(**query: str) -> list[str]:
        response = merchant_api.get("/payments", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["data"])
        return [p["id"] for p in body["data"]]

    assert ids() == [p["id"] for p in everything]
    assert ids(status="captured") == [c["id"], a["id"]]
    assert ids(status="authorized") == [d["id"], b["id"]]
    assert ids(status="refunded") == []
    assert ids(currency="USD") == [c["id"]]
    assert ids(currency="jpy") == [d["id"], b["id"], a["id"]]
    assert ids(external_order_num="A") == [d["id"], a["id"]]
    assert ids(external_order_num="A", status="captured") == [a["id"]]
    first, last = parse_time(a["created_at"]), parse_time(d["created_at"])
    second = dt.timedelta(seconds=1)
    assert ids(start_time=fmt(first)) == [p["id"] for p in everything]
    assert ids(end_time=fmt(last)) == [p["id"] for p in everything]
    assert ids(start_time=fmt(last + second)) == []
    assert ids(end_time=fmt(first - second)) == []
    assert ids(start_time=fmt(first - second), end_time=fmt(last + second)) == [p["id"] for p in everything]
    assert ids(start_time=(first - second).astimezone(dt.timezone(dt.timedelta(hours=9))).isoformat()) == [
        p["id"] for p in everything
    ]
    assert ids(end_time=(first - second).isoformat()) == []
    assert merchant_api.get("/payments", params={"status": "done"}).json() == error("invalid_parameter", "status")
    assert merchant_api.get("/payments", params={"currency": "ABC"}).json() == error("invalid_currency", "currency")
    for name in ("start_time", "end_time"):
        assert merchant_api.get("/payments", params={name: "yesterday"}).json() == error("invalid_parameter", name)


def test_list_paging(merchant_api):
    made = [created(merchant_api, card(), amount=100 + i)["id"] for i in range(5)]
    newest_first = made[::-1]

    def page(**query: int) -> dict[str, Any]:
        response = merchant_api.get("/payments", params=query)
        assert response.status_code == 200
        return response.json()

    first = page(per_page=2)
    assert {k: v for k, v in first.items() if k != "data"} == {
        "resource": "list",
        "total": 5,
        "page": 1,
        "per_page": 2,
        "last_page": 3,
    }
    assert [p["id"] for p in first["data"]] == newest_first[:2]
    assert [p["id"] for p in page(per_page=2, page=2)["data"]] == newest_first[2:4]
    assert [p["id"] for p in page(per_page=2, page=3)["data"]] == newest_first[4:]
    past = page(per_page=2, page=4)
    assert (past["total"], past["page"], past["last_page"], past["data"]) == (5, 4, 3, [])
    default = page()
    assert (default["per_page"], default["last_page"], len(default["data"])) == (10, 1, 5)
    assert page(per_page=5)["last_page"] == 1
    assert merchant_api.get("/payments", params={"page": "0"}).json() == error("invalid_parameter", "page")
    assert default["data"][0] == merchant_api.get(f"/payments/{newest_first[0]}").json()


# -- scenarios, live keys, unknown ids ---------------------------------------------------

SCENARIOS = {
    "insufficient_funds": 502,
    "used_number": 502,
    "card_declined": 502,
    "invalid_password": 502,
    "bad_verification_value": 502,
    "exceeds_limit": 502,
    "card_expired": 502,
    "invalid_number": 502,
    "invalid_account": 502,
    "restricted_account": 502,
    "other_error": 502,
    "invalid_user_key": 502,
    "other_invalid": 502,
    "gateway_timeout": 504,
    "fraudulent": 422,
    "request_failed": 402,
    "bad_gateway": 502,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_komoju_scenario_forces_a_failure_and_records_nothing(api, scenario):
    for details in (card(), konbini()):
        order = order_num()
        response = pay(api, details, external_order_num=order, headers={"Komoju-Scenario": scenario})
        assert response.status_code == SCENARIOS[scenario], response.text
        assert response.json() == error(scenario)
        assert count(api, external_order_num=order) == 0


def test_komoju_scenario_fails_a_continuation_too(api):
    pending = pay(api, prepaid("web_money"), amount=3000).json()
    response = api.patch(
        f"/payments/{pending['id']}",
        json={"payment_details": {"prepaid_number": "1111111111111111"}},
        headers={"Komoju-Scenario": "card_declined"},
    )
    assert response.status_code == 502
    assert response.json() == error("card_declined")
    assert api.get(f"/payments/{pending['id']}").json() == pending


def test_an_unknown_scenario_is_invalid(api):
    response = api.post(
        "/payments",
        json={"amount": 1000, "currency": "JPY", "payment_details": card()},
        headers={"Komoju-Scenario": "bankrupt"},
    )
    assert response.status_code == 422
    assert response.json() == error("invalid_parameter", "Komoju-Scenario")


def test_live_keys_are_refused_and_nothing_is_recorded(server, merchant):
    with server.client(merchant["live_secret_key"]) as live, server.client(merchant["test_secret_key"]) as test:
        for details in (card(), konbini(), prepaid("web_money")):
            response = pay(live, details)
            assert response.status_code == 403
            body = response.json()
            assert body["error"]["code"] == "forbidden"
            assert body["error"]["param"] is None
            assert "live" in body["error"]["message"].lower()
            assert "processor" in body["error"]["message"].lower()
        assert count(live) == 0
        assert count(test) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/payments/{id}"),
        ("PATCH", "/payments/{id}"),
        ("POST", "/payments/{id}/capture"),
        ("POST", "/payments/{id}/refund"),
        ("POST", "/payments/{id}/refund_request"),
        ("POST", "/payments/{id}/cancel"),
    ],
)
def test_an_unknown_payment_is_404(api, method, path):
    response = api.request(method, path.format(id="0" * 25), json={})
    assert response.status_code == 404
    assert response.json() == error("not_found")
