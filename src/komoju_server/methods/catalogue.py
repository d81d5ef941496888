"""The 23 payment methods of the API document, declared as data.

Field lists, response fields and token fields follow the document's examples and
KOMOJU's 2019 schema; limits and flows that neither states are decisions recorded in the
README ("Payment methods").
"""

from __future__ import annotations

from komoju_server.domain import rules as r
from komoju_server.methods.method import Deadline, Family, Field, Method

MAX = 9_999_999
JPY = {"JPY": (1, MAX)}
KRW = {"KRW": (1, MAX)}

KONBINI_STORES = ("seven-eleven", "lawson", "family-mart", "ministop", "daily-yamazaki", "seicomart")
CARRIERS = ("docomo", "au", "softbank")

_email = Field("email", r.email, on_token=True)
_email_required = Field("email", r.email, required=True, on_token=True)
_return_url = Field("return_url", r.url)
_names = (
    Field("given_name", r.text(), required=True, on_token=True),
    Field("family_name", r.text(), required=True, on_token=True),
    Field("given_name_kana", r.katakana, required=True, on_token=True),
    Field("family_name_kana", r.katakana, required=True, on_token=True),
    Field("phone", r.phone, required=True, on_token=True),
    _email_required,
)
_prepaid_shows = ("type", "email", "short_amount", "prepaid_cards")
_redirect_shows = ("type", "email", "redirect_url")


def _prepaid(type_: str, length: tuple[int, int], continuable: bool, deadline: Deadline | None) -> Method:
    return Method(
        type=type_,
        family=Family.PREPAID,
        fields=(_email, Field("prepaid_number", r.prepaid_number(*length), required=True, secret=True)),
        limits={"JPY": (1, 200_000)},
        shows=_prepaid_shows if continuable else ("type", "email"),
        refundable=False,
        continuable=continuable,
        deadline=deadline,
    )


def _redirect(
    type_: str,
    limits: dict[str, tuple[int, int]],
    *fields: Field,
    refundable: bool,
    shows: tuple[str, ...] = _redirect_shows,
) -> Method:
    return Method(type=type_, family=Family.REDIRECT, fields=fields, limits=limits, shows=shows, refundable=refundable)


METHODS: tuple[Method, ...] = (
    Method(
        type="credit_card",
        family=Family.CARD,
        fields=(
            _email,
            Field("number", r.card_number, required=True, secret=True),
            Field("month", r.integer(1, 12), required=True),
            Field("year", r.card_year, required=True),
            Field("verification_value", r.verification_value, secret=True),
            Field("name", r.text()),
            Field("given_name", r.text()),
            Field("family_name", r.text()),
        ),
        limits={"JPY": (1, MAX), "USD": (1, MAX), "EUR": (1, MAX), "TWD": (1, MAX), "KRW": (1, MAX)},
        shows=("type", "email", "brand", "last_four_digits", "month", "year"),
        refundable=True,
        deadline=Deadline(7, end_of_day=True),  # how long an authorization can wait for capture
    ),
    Method(
        type="konbini",
        family=Family.DELAYED,
        fields=(
            Field("store", r.one_of(*KONBINI_STORES), required=True, on_token=True),
            _email_required,
            Field("phone", r.phone, on_token=True),
            Field("expiry_days", r.integer(0, 59)),
        ),
        limits={"JPY": (1, 300_000)},
        shows=("type", "email", "store", "confirmation_code", "receipt", "instructions_url"),
        refundable=False,
        deadline=Deadline(3, end_of_day=True),
        expiry_field="expiry_days",
    ),
    Method(
        type="bank_transfer",
        family=Family.DELAYED,
        fields=(*_names, Field("expiry_days", r.integer(14, 59))),
        limits=JPY,
        shows=(
            "type",
            "email",
            "order_id",
            "bank_name",
            "account_branch_name",
            "account_number",
            "account_type",
            "account_name",
            "instructions_url",
        ),
        refundable=False,
        deadline=Deadline(14, end_of_day=True),
        expiry_field="expiry_days",
    ),
    Method(
        type="pay_easy",
        family=Family.DELAYED,
        fields=(*_names, Field("expiry_days", r.integer(0, 59))),
        limits={"JPY": (1, 999_999)},
        shows=("type", "email", "bank_id", "customer_id", "confirmation_id", "instructions_url"),
        refundable=False,
        deadline=Deadline(10, end_of_day=True),
        expiry_field="expiry_days",
    ),
    _prepaid("web_money", (16, 16), continuable=True, deadline=None),
    _prepaid("net_cash", (16, 20), continuable=True, deadline=Deadline(7, end_of_day=False)),
    _prepaid("bit_cash", (16, 16), continuable=False, deadline=None),
    _prepaid("nanaco", (16, 16), continuable=True, deadline=Deadline(7, end_of_day=False)),
    _prepaid("steam_prepaid_card", (16, 16), continuable=True, deadline=None),
    Method(
        type="japan_mobile",
        family=Family.REDIRECT,
        fields=(Field("brand", r.one_of(*CARRIERS), required=True), _email, _return_url),
        limits={"JPY": (1, 100_000)},
        shows=("type", "email", "provider", "redirect_url"),
        refundable=True,
    ),
    _redirect("mobile", KRW, _email_required, refundable=False, shows=("type", "email", "provider", "redirect_url")),
    _redirect("line_pay", JPY, _email, _return_url, refundable=True),
    _redirect("merpay", {"JPY": (1, 1_000_000)}, _email, _return_url, refundable=True),
    _redirect(
        "paidy",
        {"JPY": (1, 1_000_000)},
        _email,
        _return_url,
        Field("billing_address_city", r.text()),
        Field("billing_address_line1", r.text()),
        Field("billing_address_line2", r.text()),
        Field("billing_address_state", r.text()),
        Field("billing_address_zip", r.zip_code),
        Field("customer_age", r.integer(0, 200)),
        Field("customer_last_order_amount", r.integer(0, MAX * 100)),
        Field("customer_last_order_at", r.integer(0, 100_000)),
        Field("customer_lifetime_value", r.integer(0, MAX * 1000)),
        Field("customer_name", r.text()),
        Field("customer_name_kana", r.katakana),
        Field("customer_order_count", r.integer(0, 10_000_000)),
        refundable=True,
    ),
    Method(
        type="happy_money",
        family=Family.VOUCHER,
        fields=(
            Field("happy_money_id", r.secret_text(1, 20), required=True),
            Field("happy_money_password", r.secret_text(1, 50), required=True, secret=True),
            Field("email", r.email),
        ),
        limits=KRW,
        shows=("type", "email", "happy_money_id"),
        refundable=False,
    ),
    Method(
        type="culture_voucher",
        family=Family.VOUCHER,
        fields=(
            Field("culture_id", r.secret_text(1, 12), required=True),
            Field("culture_password", r.secret_text(1, 12), required=True, secret=True),
            Field("email", r.email),
        ),
        limits=KRW,
        shows=("type", "email", "culture_id"),
        refundable=False,
    ),
    _redirect(
        "toss",
        KRW,
        Field("birthday", r.digits(6, 6), required=True, secret=True),
        Field("email", r.email),
        refundable=True,
    ),
    _redirect("cvs", KRW, _email_required, refundable=False),
    Method(
        type="dospara",
        family=Family.VOUCHER,
        fields=(
            Field("user_no", r.secret_text(1, 20), required=True),
            Field("user_password", r.secret_text(1, 20), required=True, secret=True),
        ),
        limits=JPY,
        shows=("type",),
        refundable=False,
    ),
    _redirect(
        "zgold",
        {"JPY": (1, MAX), "USD": (1, MAX)},
        _email,
        _return_url,
        Field("item_title", r.text()),
        Field("item_description", r.text(2000)),
        Field("image_url", r.url),
        refundable=False,
    ),
    _redirect("paysafe_cash", {"JPY": (1, MAX), "EUR": (1, MAX), "USD": (1, MAX)}, _email, refundable=False),
    _redirect("paysafe_card", {"JPY": (1, MAX), "EUR": (1, MAX), "USD": (1, MAX)}, _email, refundable=True),
    _redirect(
        "nexus_transfer",
        JPY,
        Field("provider", r.text(64), required=True),
        Field("email", r.email),
        refundable=False,
        shows=("type", "provider", "redirect_url"),
    ),
)

BY_TYPE: dict[str, Method] = {m.type: m for m in METHODS}
TYPES: tuple[str, ...] = tuple(BY_TYPE)
