"""Every payment method, declared as data: the 23 of the API document, then the types of
KOMOJU's current API reference (its `payment_details` discriminator) that the document lacks.

Field lists, response fields and token fields follow the document's examples, KOMOJU's 2019
schema and its current reference; limits, flows and deadlines that none states are decisions
recorded in the README ("Payment methods").
"""

from __future__ import annotations

import dataclasses

from komoju_server.domain import rules as r
from komoju_server.domain.money import CURRENCIES
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


# An unfinished redirect payment lapses (KOMOJU does not publish when): a wallet or bank
# redirect after a day, a cash or transfer reference after a week. The payment answers
# `payment_deadline: null` all the while, as the document's redirect examples print.
REDIRECT_DEADLINE = Deadline(1, end_of_day=False, shown=False)
CASH_REDIRECT_DEADLINE = Deadline(7, end_of_day=False, shown=False)
# A continuable prepaid payment left short waits a week for another card.
SHORT_PREPAID_DEADLINE = Deadline(7, end_of_day=False, only_when_short=True)


def _redirect(
    type_: str,
    limits: dict[str, tuple[int, int]],
    *fields: Field,
    refundable: bool,
    shows: tuple[str, ...] = _redirect_shows,
    partial_refunds: bool = True,
    deadline: Deadline = REDIRECT_DEADLINE,
) -> Method:
    return Method(
        type=type_,
        family=Family.REDIRECT,
        fields=fields,
        limits=limits,
        shows=shows,
        refundable=refundable,
        partial_refunds=partial_refunds,
        deadline=deadline,
    )


def _each(*currencies: str, most: int = MAX) -> dict[str, tuple[int, int]]:
    return {code: (1, most) for code in currencies}


_address = tuple(
    Field(f"{kind}_address_{part}", r.text())
    for kind in ("shipping", "billing")
    for part in ("name", "line1", "line2", "city", "state", "zip", "country")
)
_card_shows = ("type", "email", "brand", "last_four_digits", "month", "year")
_card_number = (
    Field("number", r.card_number, required=True, secret=True),
    Field("month", r.integer(1, 12), required=True),
    Field("year", r.card_year, required=True),
    Field("verification_value", r.verification_value, secret=True),
)
_CARD_AUTHORIZATION = Deadline(7, end_of_day=True)  # how long an authorization can wait for capture


def _wallet(type_: str, limits: dict[str, tuple[int, int]], *fields: Field, partial_refunds: bool = True) -> Method:
    """A wallet, bank or card-scheme redirect: refunded directly, lapses after a day unfinished."""
    return _redirect(type_, limits, _email, _return_url, *fields, refundable=True, partial_refunds=partial_refunds)


def _cash_reference(type_: str, limits: dict[str, tuple[int, int]]) -> Method:
    """A reference paid later in cash or by transfer: refunded by refund request, lapses after a week."""
    return _redirect(type_, limits, _email, _return_url, refundable=False, deadline=CASH_REDIRECT_DEADLINE)


# The types of KOMOJU's current reference that the document lacks, plus `linepay`, the slug
# KOMOJU's hosted pages use today for the document's `line_pay` (both are taken).
NEWER_METHODS: tuple[Method, ...] = (
    # -- Japan ---------------------------------------------------------------------------------
    _wallet(
        "paypay", _each("JPY", most=500_000), Field("user_authorization_id", r.text()), Field("scanned_code", r.text())
    ),
    _wallet("rakutenpay", _each("JPY", most=500_000)),
    _wallet("aupay", _each("JPY", most=300_000)),
    # The same wallet as the document's line_pay: a session offers it only when asked for it by
    # name, or the hosted page would show LINE Pay twice.
    dataclasses.replace(_wallet("linepay", JPY), offered_by_default=False),
    _wallet("epospay", _each("JPY", most=500_000)),
    _wallet("komoju_pay", JPY),
    # carrier billing by carrier (the document's japan_mobile takes the carrier as `brand`)
    _wallet("docomo", _each("JPY", most=100_000), *_address, partial_refunds=False),
    _wallet("au", _each("JPY", most=100_000), *_address, partial_refunds=False),
    _wallet("softbank", _each("JPY", most=100_000), *_address, partial_refunds=False),
    # -- Korea ---------------------------------------------------------------------------------
    Method(
        type="credit_card_korea",
        family=Family.CARD,
        fields=(
            _email,
            *_card_number,
            Field("first_two_digits_of_pin", r.digits(2, 2), required=True, secret=True),
            *_address,
        ),
        limits=KRW,
        shows=_card_shows,
        refundable=True,
        deadline=_CARD_AUTHORIZATION,
    ),
    _wallet("kakaopay", KRW),
    _wallet("naverpay", KRW),
    _wallet("payco", KRW),
    # -- China and Hong Kong -------------------------------------------------------------------
    _wallet("alipay", _each("JPY", "USD", "EUR", "GBP", "HKD", "SGD", "AUD", "NZD", "CAD", "CHF", "CNY")),
    _wallet("alipay_hk", _each("HKD")),
    _wallet("wechatpay", _each("JPY", "CNY", "HKD", "USD", "EUR")),
    _wallet("unionpay", _each("JPY", "CNY", "USD")),
    # -- South-East Asia -----------------------------------------------------------------------
    _wallet("dana", _each("IDR")),
    _wallet("ovo", _each("IDR")),
    _wallet("doku_wallet", _each("IDR")),
    _wallet("gcash", _each("PHP")),
    _cash_reference("dragonpay", _each("PHP")),
    _wallet("grabpayotp", _each("SGD", "MYR")),
    _wallet("tng", _each("MYR")),
    _wallet("fpx", _each("MYR")),
    _wallet("enets", _each("SGD")),
    _wallet("truemoney", _each("THB")),
    # -- Europe --------------------------------------------------------------------------------
    _wallet("ideal", _each("EUR")),
    _wallet("bancontact", _each("EUR")),
    _wallet("eps", _each("EUR")),
    _wallet("giropay", _each("EUR")),
    _wallet("sofortbanking", _each("EUR", "CHF", "GBP", "PLN")),
    _wallet("mybank", _each("EUR")),
    _wallet("paysera", _each("EUR")),
    _wallet("payu", _each("PLN")),
    _wallet("blik", _each("PLN")),
    _wallet("przelewy24", _each("PLN", "EUR")),
    _cash_reference("multibanco", _each("EUR")),
    _cash_reference("sepa_transfer", _each("EUR")),
    _cash_reference("narvesen", _each("EUR")),
    _cash_reference("perlas", _each("EUR")),
    _cash_reference("paypost", _each("EUR")),
    # -- Oceania -------------------------------------------------------------------------------
    _wallet("poli", _each("AUD", "NZD")),
    # -- Brazil --------------------------------------------------------------------------------
    Method(
        type="credit_card_brazil",
        family=Family.CARD,
        fields=(
            _email_required,
            *_card_number,
            Field("name", r.text(), required=True),
            Field("cpf_or_cnpj", r.digits(11, 14), required=True),
            Field("customer_ip", r.text(45)),
        ),
        limits=_each("BRL"),
        shows=_card_shows,
        refundable=True,
        deadline=_CARD_AUTHORIZATION,
    ),
    _redirect(
        "pix",
        _each("BRL"),
        Field("name", r.text(), required=True),
        _email_required,
        Field("cpf", r.digits(11, 11), required=True),
        Field("customer_ip", r.text(45)),
        _return_url,
        refundable=True,
    ),
)

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
        limits=_each(*CURRENCIES),  # every currency KOMOJU takes
        shows=_card_shows,
        refundable=True,
        deadline=_CARD_AUTHORIZATION,
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
    _prepaid("web_money", (16, 16), continuable=True, deadline=SHORT_PREPAID_DEADLINE),
    _prepaid("net_cash", (16, 20), continuable=True, deadline=Deadline(7, end_of_day=False)),
    _prepaid("bit_cash", (16, 16), continuable=False, deadline=None),
    _prepaid("nanaco", (16, 16), continuable=True, deadline=Deadline(7, end_of_day=False)),
    _prepaid("steam_prepaid_card", (16, 16), continuable=True, deadline=SHORT_PREPAID_DEADLINE),
    Method(
        type="japan_mobile",
        family=Family.REDIRECT,
        fields=(Field("brand", r.one_of(*CARRIERS), required=True), _email, _return_url),
        limits={"JPY": (1, 100_000)},
        shows=("type", "email", "provider", "redirect_url"),
        refundable=True,
        partial_refunds=False,
        deadline=REDIRECT_DEADLINE,
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
    _redirect("cvs", KRW, _email_required, refundable=False, deadline=CASH_REDIRECT_DEADLINE),
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
    _redirect(
        "paysafe_cash",
        {"JPY": (1, MAX), "EUR": (1, MAX), "USD": (1, MAX)},
        _email,
        refundable=False,
        deadline=CASH_REDIRECT_DEADLINE,
    ),
    _redirect("paysafe_card", {"JPY": (1, MAX), "EUR": (1, MAX), "USD": (1, MAX)}, _email, refundable=True),
    _redirect(
        "nexus_transfer",
        JPY,
        Field("provider", r.text(64), required=True),
        Field("email", r.email),
        refundable=False,
        shows=("type", "provider", "redirect_url"),
        deadline=CASH_REDIRECT_DEADLINE,
    ),
    *NEWER_METHODS,
)

BY_TYPE: dict[str, Method] = {m.type: m for m in METHODS}
TYPES: tuple[str, ...] = tuple(BY_TYPE)
