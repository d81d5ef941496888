"""Value rules of payment_details fields: each gives the clean value or refuses naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from komoju_server.domain import rules
from komoju_server.domain.errors import ApiError

P = "payment_details[x]"


def refuses(rule: rules.Rule, value: Any) -> None:
    with pytest.raises(ApiError) as info:
        rule(value, P)
    assert (info.value.code, info.value.param) == ("invalid_parameter", P)


# -- card numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("4111111111111111", "4111111111111111"),
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        (4111111111111111, "4111111111111111"),
        ("378282246310005", "378282246310005"),
        ("30569309025904", "30569309025904"),
        ("6011000990139424", "6011000990139424"),
        ("4222222222222", "4222222222222"),  # 13 digits
    ],
)
def test_card_number(given, clean):
    assert rules.card_number(given, P) == clean


@pytest.mark.parametrize(
    "given",
    [
        "4111111111111112",
        "411111111111",
        "42424242424242424242",
        "4111x11111111111",
        "４１１１１１１１１１１１１１１１",
        "",
        True,
        4.1,
    ],
)
def test_bad_card_numbers(given):
    refuses(rules.card_number, given)


@pytest.mark.parametrize(("given", "clean"), [("123", "123"), ("1234", "1234"), (123, "123"), ("012", "012")])
def test_verification_value(given, clean):
    assert rules.verification_value(given, P) == clean


@pytest.mark.parametrize("given", ["12", "12345", "12a", "１２３", "", True])
def test_bad_verification_values(given):
    refuses(rules.verification_value, given)


@pytest.mark.parametrize(
    ("given", "year"), [(2025, 2025), ("2030", 2030), ("25", 2025), (0, 2000), (99, 2099), (2100, 2100)]
)
def test_card_year(given, year):
    assert rules.card_year(given, P) == year


@pytest.mark.parametrize("given", [2101, "20x5", -1, "", 2025.5])
def test_bad_card_years(given):
    refuses(rules.card_year, given)


# -- phone, e-mail, URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["080-1111-2222", "08011112222", "0311112222", "+81 80 1111 2222", "(03) 1111-2222", "090_1111_2222"]
)
def test_phone(given):
    assert rules.phone(given, P) == given


@pytest.mark.parametrize("given", ["12345", "080-111-222", "phone", "080-1111-2222 ext", "０８０１１１１２２２２", ""])
def test_bad_phones(given):
    refuses(rules.phone, given)


@pytest.mark.parametrize("given", ["a@example.com", "first.last+tag@sub.example.co.jp", " a@example.com "])
def test_email(given):
    assert rules.email(given, P) == given.strip()


@pytest.mark.parametrize(
    "given", ["a@example", "@example.com", "a b@example.com", "a@@example.com", "", "a" * 250 + "@x.com"]
)
def test_bad_emails(given):
    refuses(rules.email, given)


@pytest.mark.parametrize("given", ["https://example.com", "http://example.com/back?x=1", "HTTPS://EXAMPLE.COM/"])
def test_url(given):
    assert rules.url(given, P) == given


@pytest.mark.parametrize(
    "given", ["example.com", "ftp://example.com", "https://", "javascript:alert(1)", "https://a b"]
)
def test_bad_urls(given):
    refuses(rules.url, given)


# -- kana --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["タロウ", "ヤマダ タロウ", "ヤマダ　タロウ", "ｶﾀｶﾅ", "ヴァージニア", "ルー", "ジョン・スミス"]
)
def test_katakana(given):
    assert rules.katakana(given, P) == given


@pytest.mark.parametrize("given", ["たろう", "太郎", "Taro", "タロウ1", "", "ア" * 256])
def test_bad_katakana(given):
    refuses(rules.katakana, given)


@pytest.mark.parametrize("given", ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｶ)ﾃﾞｼﾞｶ", "ABC 123"])
def test_half_width_kana(given):
    assert rules.half_width_kana(given, P) == given


@pytest.mark.parametrize("given", ["ヤマダ タロウ", "やまだ", "山田", "abc", "", "ｱ" * 49])
def test_bad_half_width_kana(given):
    refuses(rules.half_width_kana, given)


# -- the rest ----------------------------------------------------------------------------


def test_text_strips_and_bounds():
    rule = rules.text(5)
    assert rule(" abc ", P) == "abc"
    assert rule(12345, P) == "12345"
    for bad in ("", "   ", "abcdef", None, True, 1.5, ["a"], {"a": 1}):
        refuses(rule, bad)


def test_one_of():
    rule = rules.one_of("lawson", "family-mart")
    assert rule("lawson", P) == "lawson"
    for bad in ("Lawson", "am-pm", "", 1):
        refuses(rule, bad)


@pytest.mark.parametrize(("given", "want"), [("0", 0), ("59", 59), (7, 7), (7.0, 7), (" 3 ", 3)])
def test_integer(given, want):
    assert rules.integer(0, 59)(given, P) == want


@pytest.mark.parametrize("given", ["60", -1, "-1", "3.5", 3.5, "three", "", True, "１", "²", "9" * 5_000, 1e300])
def test_bad_integers(given):
    refuses(rules.integer(0, 59), given)


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("007", 7), ("0" * 5_000, 0), ("9" * 18, 10**18 - 1), ("0" * 100 + "42", 42), ("9" * 19, None)],
)
def test_whole_number_reads_ascii_digits_of_a_sane_length(text, number):
    assert rules.whole_number(text) == number


@pytest.mark.parametrize("text", ["", " 1", "-1", "+1", "1.0", "１", "²", "٣", "9" * 5_000])
def test_whole_number_is_none_for_anything_else(text):
    assert rules.whole_number(text) is None


def test_digits():
    rule = rules.digits(3, 4)
    assert rule("123", P) == "123"
    assert rule("1-2 3", P) == "123"
    assert rule(1234, P) == "1234"
    for bad in ("12", "12345", "12a", "１２３", ""):
        refuses(rule, bad)


@pytest.mark.parametrize(
    ("given", "clean"), [("1111111111111111", "1111111111111111"), ("e111-1111 1111 1112", "e111111111111112")]
)
def test_prepaid_number(given, clean):
    assert rules.prepaid_number(16, 16)(given, P) == clean


@pytest.mark.parametrize("given", ["111111111111111", "11111111111111111", "e11111111111111!", "ｅ111111111111112", ""])
def test_bad_prepaid_numbers(given):
    refuses(rules.prepaid_number(16, 16), given)


def test_prepaid_number_lengths():
    rule = rules.prepaid_number(16, 20)
    assert rule("1" * 20, P) == "1" * 20
    refuses(rule, "1" * 21)


def test_secret_text():
    rule = rules.secret_text(1, 3)
    assert rule("abc", P) == "abc"
    for bad in ("", "abcd"):
        refuses(rule, bad)


@pytest.mark.parametrize(
    ("given", "ok"),
    [("1800004", True), ("180-0004", True), ("18000", False), ("180-00045", False), ("abc-defg", False)],
)
def test_zip_code(given, ok):
    if ok:
        assert rules.zip_code(given, P) == given
    else:
        refuses(rules.zip_code, given)
