"""Form bodies (Rails-style brackets) and JSON bodies decode to the same structure."""

from __future__ import annotations

import json

import pytest

from komoju_server.api.forms import BodyError, decode_body, decode_form
from komoju_server.domain.errors import ApiError
from komoju_server.limits import Limits

FORM = "application/x-www-form-urlencoded"


def test_form_and_json_give_identical_structures():
    form = (
        "amount=1000&currency=JPY&payment_details[type]=pay_easy"
        "&payment_details[family_name]=山田&payment_details[given_name_kana]=タロウ"
        "&metadata[order][id]=42&metadata[order][lines][]=a&metadata[order][lines][]=b"
        "&webhooks[]=https://example.com/a&webhooks[]=https://example.com/b"
        "&items[][name]=x&items[][qty]=1&items[][name]=y&items[][qty]=2"
    )
    as_json = {
        "amount": "1000",
        "currency": "JPY",
        "payment_details": {"type": "pay_easy", "family_name": "山田", "given_name_kana": "タロウ"},
        "metadata": {"order": {"id": "42", "lines": ["a", "b"]}},
        "webhooks": ["https://example.com/a", "https://example.com/b"],
        "items": [{"name": "x", "qty": "1"}, {"name": "y", "qty": "2"}],
    }
    from_form = decode_body(form.encode("utf-8"), FORM)
    from_json = decode_body(json.dumps(as_json, ensure_ascii=False).encode("utf-8"), "application/json")
    assert from_form == from_json == as_json


def test_percent_encoded_and_raw_utf8_agree():
    raw = decode_form("name=いちご吉祥寺ビル 4F")
    encoded = decode_form("name=%E3%81%84%E3%81%A1%E3%81%94%E5%90%89%E7%A5%A5%E5%AF%BA%E3%83%93%E3%83%AB+4F")
    assert raw == encoded == {"name": "いちご吉祥寺ビル 4F"}


def test_plus_is_a_space_and_empty_values_stay():
    assert decode_form("a=x+y&b=&c") == {"a": "x y", "b": "", "c": ""}


def test_last_value_wins_for_a_repeated_plain_key():
    assert decode_form("a=1&a=2") == {"a": "2"}


def test_a_field_name_seen_before_decodes_as_the_first_time():
    """Field names are remembered once decoded: a second body gets the same structure, and the
    same refusals, as the first."""
    body = "payment_details%5Btype%5D=credit_card&payment_details%5Bmonth%5D=1&a%5Bb%5D%5B%5D=x&c=1"
    expected = {"payment_details": {"type": "credit_card", "month": "1"}, "a": {"b": ["x"]}, "c": "1"}
    assert decode_form(body) == decode_form(body) == expected
    for _ in range(2):
        with pytest.raises(BodyError):
            decode_form("c%5Bd%5D=2&c=1")
        with pytest.raises(UnicodeDecodeError):
            decode_form("%FF%5Bx%5D=1")


def test_remembered_field_names_are_bounded_in_number_and_length():
    from komoju_server.api import forms

    long_name = "n" * (forms._KEY_KEPT_LENGTH + 1)
    assert decode_form(f"{long_name}=1") == {long_name: "1"}
    assert long_name not in forms._KEYS
    for number in range(forms._KEYS_KEPT + 10):
        assert decode_form(f"name{number}%5Bx%5D=1") == {f"name{number}": {"x": "1"}}
    assert len(forms._KEYS) == forms._KEYS_KEPT


def test_empty_bodies_are_empty():
    assert decode_body(b"", FORM) == {}
    assert decode_body(b"  ", "application/json") == {}


def test_json_without_content_type_is_recognised():
    assert decode_body(b'{"a": {"b": 1}}', None) == {"a": {"b": 1}}


@pytest.mark.parametrize(
    "body",
    [
        "a=1&a[b]=2",  # a string, then a hash
        "a[b]=1&a=2",  # a hash, then a string
        "a[]=1&a[b]=2",  # an array, then a hash
        "a[b]]=1",  # unbalanced brackets
        "[a]=1",  # no name
    ],
)
def test_conflicting_or_malformed_keys_are_bad_requests(body):
    with pytest.raises(BodyError) as caught:
        decode_form(body)
    assert caught.value.code == "bad_request" and caught.value.status == 400


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"\xff\xfe=1", FORM), (b"{", "application/json"), (b"[1,2]", "application/json"), (b'"x"', "application/json")],
)
def test_undecodable_bodies_are_bad_requests(body, ctype):
    with pytest.raises(BodyError):
        decode_body(body, ctype)


@pytest.mark.parametrize(
    ("body", "ctype", "param"),
    [
        (b'{"description": "a\\u0000b"}', "application/json", "description"),
        (b'{"metadata": {"k": "\\u0000"}}', "application/json", "metadata[k]"),
        (b'{"metadata": {"k\\u0000": "v"}}', "application/json", "metadata"),
        (b'{"webhooks": ["https://a.example", "\\u0000"]}', "application/json", "webhooks"),
        (b"a=1&payment_details[name]=x%00", FORM, "payment_details[name]"),
        (b"events[]=ping&events[]=%00", FORM, "events"),
    ],
)
def test_nul_is_refused_naming_the_field(body, ctype, param):
    with pytest.raises(ApiError) as caught:
        decode_body(body, ctype)
    assert (caught.value.code, caught.value.param) == ("invalid_parameter", param)


@pytest.mark.parametrize(("body", "ctype"), [(b'{"a\\u0000": 1}', "application/json"), (b"a%00=1", FORM)])
def test_nul_in_a_top_level_name_is_a_bad_request(body, ctype):
    with pytest.raises(BodyError):
        decode_body(body, ctype)


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    assert decode_body(b'{"a": "\\\\u0000"}', "application/json") == {"a": "\\u0000"}
    assert decode_form("a=%2500") == {"a": "%00"}


def test_numbers_beyond_a_double_are_read_as_infinity_for_the_field_to_refuse():
    assert decode_body(b'{"amount": 1e400, "tax": -1e400, "b": "\\ud83d\\ude00"}', "application/json") == {
        "amount": float("inf"),
        "tax": float("-inf"),
        "b": "\U0001f600",
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1e400, "b": "\\ud800"}',  # a lone surrogate
        b'{"a": 1e400, "b": NaN}',
        b'{"a": 1e400, "b": Infinity}',
    ],
)
def test_what_json_does_not_allow_stays_undecodable(body):
    with pytest.raises(BodyError):
        decode_body(body, "application/json")


def test_integers_longer_than_python_parses_are_read_as_infinity_for_the_field_to_refuse():
    digits = b"1" * 5_000
    assert decode_body(b'{"amount": ' + digits + b', "tax": -' + digits + b"}", "application/json") == {
        "amount": float("inf"),
        "tax": float("-inf"),
    }
    assert decode_body(b'{"a": 1e400, "b": ' + b"1" * 4_300 + b"}", "application/json")["b"] == int("1" * 4_300)


SMALL = Limits(max_depth=3, max_array=2)


@pytest.mark.parametrize(
    ("body", "ctype", "message", "param"),
    [
        (b'{"a": {"b": [[1]]}}', "application/json", "The request body is nested too deeply (at most 3 levels).", "a"),
        (b'{"a": 1e400, "b": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", None, None),
        (b'{"a": ' + b"[" * 2_000 + b"]" * 2_000 + b"}", "application/json", None, None),
        (b'{"a": [1, 2, 3]}', "application/json", "An array in the request is too long (at most 2 items).", "a"),
        (
            b'{"a": [[1, 2], [1, 2, 3]]}',
            "application/json",
            "An array in the request is too long (at most 2 items).",
            "a",
        ),
        (b"a[b][c][]=1", FORM, "The request body is nested too deeply (at most 3 levels).", "a"),
        (b"a[]=1&a[]=2&a[]=3", FORM, "An array in the request is too long (at most 2 items).", "a"),
        (b"a[][x]=1&a[][x]=2&a[][x]=3", FORM, "An array in the request is too long (at most 2 items).", "a"),
    ],
)
def test_bodies_too_deep_or_too_wide_are_unprocessable_naming_the_field(body, ctype, message, param):
    with pytest.raises(ApiError) as caught:
        decode_body(body, ctype, SMALL)
    error = caught.value
    expected = message or "The request body is nested too deeply (at most 3 levels)."
    assert (error.status, error.code, error.message, error.param) == (422, "unprocessable_entity", expected, param)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b'{"a": {"b": [1, 2]}, "c": "[[[[,,,,"}', "application/json"),  # brackets in strings are not nesting
        (b"a[b][]=1&a[b][]=2", FORM),
    ],
)
def test_bodies_at_the_limits_are_read(body, ctype):
    assert decode_body(body, ctype, SMALL)["a"]
