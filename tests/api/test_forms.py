"""Form bodies (Rails-style brackets) and JSON bodies decode to the same structure."""

from __future__ import annotations

import json

import pytest

from komoju_server.api.forms import BodyError, decode_body, decode_form

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
        "a" + "[b]" * 9 + "=1",  # too deep
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
