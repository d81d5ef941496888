"""The payment-method catalogue: invariants every declaration must keep, and the helpers on it."""

from __future__ import annotations

import dataclasses

import pytest

from komoju_server.domain import money
from komoju_server.domain.errors import ApiError
from komoju_server.methods import BY_TYPE, TYPES, Family, clean_details, method_of, split_secrets
from komoju_server.methods.catalogue import METHODS

ISSUE_TYPES = {
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
    "mobile",
    "line_pay",
    "merpay",
    "paidy",
    "happy_money",
    "culture_voucher",
    "toss",
    "cvs",
    "dospara",
    "zgold",
    "paysafe_cash",
    "paysafe_card",
    "nexus_transfer",
}
# The `payment_details` types of KOMOJU's current API reference (its discriminator), all but
# `credit_card_terminal` (a card reader in a shop, not an online payment).
REFERENCE_TYPES = {
    "alipay", "alipay_hk", "au", "aupay", "bancontact", "bank_transfer", "blik", "credit_card",
    "credit_card_brazil", "credit_card_korea", "culture_voucher", "cvs", "dana", "docomo",
    "doku_wallet", "dospara", "dragonpay", "enets", "epospay", "eps", "fpx", "gcash", "giropay",
    "grabpayotp", "happy_money", "ideal", "japan_mobile", "kakaopay", "komoju_pay", "konbini",
    "merpay", "mobile", "multibanco", "mybank", "narvesen", "naverpay", "ovo", "paidy", "pay_easy",
    "payco", "paypay", "paypost", "paysafe_card", "paysafe_cash", "paysera", "payu", "perlas", "pix",
    "poli", "przelewy24", "rakutenpay", "sepa_transfer", "sofortbanking", "softbank",
    "steam_prepaid_card", "tng", "toss", "truemoney", "unionpay", "web_money", "wechatpay",
}  # fmt: skip
# Values the processor makes for a payment, by family; everything else shown must be a field.
GENERATED = {
    Family.CARD: {"brand", "last_four_digits"},
    Family.DELAYED: {
        "confirmation_code",
        "receipt",
        "instructions_url",
        "order_id",
        "bank_name",
        "account_branch_name",
        "account_number",
        "account_type",
        "account_name",
        "bank_id",
        "customer_id",
        "confirmation_id",
    },
    Family.PREPAID: {"short_amount", "prepaid_cards"},
    Family.VOUCHER: set(),
    Family.REDIRECT: {"redirect_url", "provider"},
}
# Whatever is named like this holds a secret (the seed checker's list).
SECRET_NAMES = {
    "number",
    "verification_value",
    "prepaid_number",
    "happy_money_password",
    "culture_password",
    "user_password",
    "birthday",
    "first_two_digits_of_pin",
}
each = pytest.mark.parametrize("method", METHODS, ids=lambda m: m.type)


def test_the_types_of_the_document_and_of_komoju_today():
    assert len(REFERENCE_TYPES) == 61
    # the document's 23, the reference's, and `linepay`: the slug KOMOJU uses today for line_pay
    assert set(TYPES) == ISSUE_TYPES | REFERENCE_TYPES | {"linepay"}
    assert len(METHODS) == 68
    assert len(TYPES) == len(set(TYPES))
    assert {m.type: m for m in METHODS} == BY_TYPE


@each
def test_shown_fields_exist(method):
    assert method.shows[0] == "type"
    assert len(method.shows) == len(set(method.shows))
    names = set(method.by_name)
    assert set(method.shows) - {"type"} <= names | GENERATED[method.family]


@each
def test_token_fields_exist_and_hold_no_secret(method):
    assert method.token_fields[0] == "type"
    assert set(method.token_fields[1:]) <= set(method.by_name)
    assert not set(method.token_fields) & set(method.secret_fields)


@each
def test_secrets_are_never_shown(method):
    assert not set(method.shows) & set(method.secret_fields)
    assert {f.name for f in method.fields if f.name in SECRET_NAMES} <= set(method.secret_fields)


def test_a_method_that_would_show_a_secret_field_is_refused():
    # payments' public_details relies on it: it picks the shown fields without the secrets removed.
    card = BY_TYPE["credit_card"]
    with pytest.raises(ValueError, match="a secret field is never shown"):
        dataclasses.replace(card, shows=(*card.shows, "verification_value"))


@each
def test_field_names_are_unique(method):
    names = [f.name for f in method.fields]
    assert len(names) == len(set(names))
    assert "type" not in names


@each
def test_limits_are_sane(method):
    assert method.limits
    for currency, (least, most) in method.limits.items():
        assert currency in money.CURRENCIES
        assert 1 <= least <= most <= money.MAX_AMOUNT


@pytest.mark.parametrize(
    ("type_", "limits"),
    [
        ("konbini", {"JPY": (1, 300_000)}),
        ("pay_easy", {"JPY": (1, 999_999)}),
        ("merpay", {"JPY": (1, 1_000_000)}),
        ("bank_transfer", {"JPY": (1, 9_999_999)}),
    ],
)
def test_documented_limits(type_, limits):
    assert dict(BY_TYPE[type_].limits) == limits


@each
def test_delayed_methods_have_a_deadline_set_by_expiry_days(method):
    if method.family is Family.DELAYED:
        assert method.expiry_field == "expiry_days"
        assert "expiry_days" in method.by_name
        assert method.deadline is not None and method.deadline.end_of_day
    else:
        assert method.expiry_field is None


@pytest.mark.parametrize(("type_", "days"), [("konbini", 3), ("bank_transfer", 14), ("pay_easy", 10)])
def test_default_expiry(type_, days):
    deadline = BY_TYPE[type_].deadline
    assert deadline is not None
    assert deadline.days == days


@pytest.mark.parametrize("type_", ["konbini", "bank_transfer", "pay_easy"])
def test_expiry_days_up_to_59(type_):
    rule = BY_TYPE[type_].by_name["expiry_days"].rule
    assert rule(59, "p") == 59
    with pytest.raises(ApiError):
        rule(60, "p")


@each
def test_cash_like_families_cannot_be_refunded(method):
    if method.family in (Family.DELAYED, Family.PREPAID, Family.VOUCHER):
        assert not method.refundable
    if method.type == "credit_card":
        assert method.refundable


@each
def test_only_prepaid_methods_continue(method):
    assert method.continuable == (method.type in {"web_money", "net_cash", "nanaco", "steam_prepaid_card"})
    if method.continuable:
        assert {"short_amount", "prepaid_cards"} <= set(method.shows)


@each
def test_a_method_with_a_required_field_names_it(method):
    required = [f.name for f in method.fields if f.required]
    details = {"type": method.type}
    if required:
        with pytest.raises(ApiError) as info:
            clean_details(method, details)
        assert (info.value.code, info.value.param) == ("missing_parameter", f"payment_details[{required[0]}]")
    else:
        assert clean_details(method, details) == {"type": method.type}


# -- the helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("details", "code", "param"),
    [
        ({}, "missing_parameter", "payment_details[type]"),
        ({"type": ""}, "missing_parameter", "payment_details[type]"),
        ({"type": None}, "missing_parameter", "payment_details[type]"),
        ({"type": "bogus"}, "invalid_payment_type", "payment_details[type]"),
        ({"type": 5}, "invalid_payment_type", "payment_details[type]"),
        ("konbini", "invalid_parameter", "payment_details"),
        (["konbini"], "invalid_parameter", "payment_details"),
    ],
)
def test_method_of_refusals(details, code, param):
    with pytest.raises(ApiError) as info:
        method_of(details)
    assert (info.value.code, info.value.param) == (code, param)


def test_the_invalid_type_message_lists_every_type_in_order():
    with pytest.raises(ApiError) as info:
        method_of({"type": "cash"})
    assert info.value.message == f"Payment method was invalid. cash is not one of {', '.join(TYPES)}."


def test_clean_details_checks_fields_and_drops_unknown_ones():
    method = BY_TYPE["konbini"]
    clean = clean_details(
        method, {"type": "konbini", "store": "lawson", "email": " a@example.com ", "expiry_days": "5", "extra": "x"}
    )
    assert clean == {"type": "konbini", "store": "lawson", "email": "a@example.com", "expiry_days": 5}


def test_clean_details_names_the_param_it_was_given():
    with pytest.raises(ApiError) as info:
        clean_details(BY_TYPE["konbini"], {"type": "konbini", "store": "x", "email": "a@example.com"}, "customer")
    assert info.value.param == "customer[store]"


def test_split_secrets():
    method = BY_TYPE["credit_card"]
    details = {"type": "credit_card", "number": "4111111111111111", "month": 1, "year": 2030, "verification_value": "1"}
    safe, secret = split_secrets(method, details)
    assert safe == {"type": "credit_card", "month": 1, "year": 2030}
    assert secret == {"number": "4111111111111111", "verification_value": "1"}


@each
def test_redirect_payments_lapse_unfinished_but_answer_no_deadline(method):
    if method.family is Family.REDIRECT:
        assert method.deadline is not None
        assert method.deadline.days in (1, 7)
        assert not method.deadline.shown


@pytest.mark.parametrize("type_", ["web_money", "steam_prepaid_card"])
def test_short_prepaid_payments_lapse_after_a_week(type_):
    deadline = BY_TYPE[type_].deadline
    assert deadline is not None
    assert (deadline.days, deadline.end_of_day, deadline.shown, deadline.only_when_short) == (7, False, True, True)


def test_every_currency_of_komoju_is_taken_by_some_method():
    assert {c for m in METHODS for c in m.currencies} == set(money.CURRENCIES)
