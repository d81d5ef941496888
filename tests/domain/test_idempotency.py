"""Idempotency keys: which keys are valid, what makes requests the same, what a repeat gets."""

from __future__ import annotations

import pytest

from komoju_server.domain import idempotency
from komoju_server.domain.errors import ApiError
from komoju_server.domain.idempotency import LEASE, RETENTION, Claim, Verdict, judge

NOW = 1_700_000_000


@pytest.mark.parametrize("key", ["a", "order-1234", "~" * 100, "with spaces and !\"#$%&'()*+,-./:;<=>?@[]^_`{|}"])
def test_printable_ascii_keys_up_to_100_characters_are_kept_as_given(key):
    assert idempotency.check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 101, "tab\there", "new\nline", "\x7f", "ключ", "キー", "caf\u00e9"])
def test_other_keys_are_invalid_parameter_naming_the_header(key):
    with pytest.raises(ApiError) as caught:
        idempotency.check_key(key)
    assert (caught.value.code, caught.value.param, caught.value.status) == (
        "invalid_parameter",
        "X-KOMOJU-IDEMPOTENCY",
        422,
    )


KEY = b"k" * 32


def test_the_fingerprint_covers_method_path_query_and_body():
    base = idempotency.fingerprint(KEY, "POST", "/api/v1/payments", "", b'{"amount":1}')
    assert base == idempotency.fingerprint(KEY, "post", "/api/v1/payments", "", b'{"amount":1}')
    others = {
        idempotency.fingerprint(KEY, "PUT", "/api/v1/payments", "", b'{"amount":1}'),
        idempotency.fingerprint(KEY, "POST", "/api/v1/payments/x/refund", "", b'{"amount":1}'),
        idempotency.fingerprint(KEY, "POST", "/api/v1/payments", "a=1", b'{"amount":1}'),
        idempotency.fingerprint(KEY, "POST", "/api/v1/payments", "", b'{"amount":2}'),
        # The parts are length-prefixed: moving bytes from one part to the next changes it.
        idempotency.fingerprint(KEY, "POST", "/api/v1/payment", "s", b'{"amount":1}'),
    }
    assert base not in others and len(others) == 5


def test_the_fingerprint_is_keyed_so_a_stored_one_cannot_be_reversed_without_the_key():
    import hashlib

    body = b"payment_details[number]=4111111111111111&payment_details[verification_value]=123"
    keyed = idempotency.fingerprint(KEY, "POST", "/api/v1/payments", "", body)
    assert keyed != idempotency.fingerprint(b"x" * 32, "POST", "/api/v1/payments", "", body)
    assert keyed != hashlib.sha256(body).hexdigest()


def claim(**changes: object) -> Claim:
    fields: dict[str, object] = {
        "owner": "o",
        "fingerprint": "f",
        "created_at": NOW,
        "lease_until": NOW + LEASE,
        "status": None,
        "body": None,
        **changes,
    }
    return Claim(**fields)  # type: ignore[arg-type]


def test_a_running_claim_is_in_flight_until_its_lease_ends():
    assert judge(claim(), "f", NOW + 5, NOW + 5) is Verdict.IN_FLIGHT
    assert judge(claim(), "f", NOW + LEASE, NOW + LEASE) is Verdict.TAKE_OVER


def test_an_answered_claim_is_replayed_for_the_same_request_only():
    answered = claim(lease_until=None, status=200, body=b"{}")
    assert judge(answered, "f", NOW + 60, NOW + 60) is Verdict.REPLAY
    assert judge(answered, "g", NOW + 60, NOW + 60) is Verdict.MISMATCH
    assert judge(claim(), "g", NOW + 1, NOW + 1) is Verdict.MISMATCH  # running, another request


def test_a_key_is_kept_24_hours_on_the_merchants_clock():
    answered = claim(lease_until=None, status=200, body=b"{}")
    assert judge(answered, "f", NOW + RETENTION - 1, NOW) is Verdict.REPLAY
    # The merchant's clock moved a day ahead while real time did not: the key has expired.
    assert judge(answered, "f", NOW + RETENTION, NOW) is Verdict.TAKE_OVER
    assert judge(answered, "g", NOW + RETENTION, NOW) is Verdict.TAKE_OVER


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        (200, True),
        (202, True),
        (404, True),
        (422, True),
        (409, False),
        (500, False),
        (502, False),
        (503, False),
        (504, False),
    ],
)
def test_which_answers_are_kept(status, kept):
    assert idempotency.keeps(status) is kept
