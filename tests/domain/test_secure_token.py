"""The secure token's status table and where it sends the customer back to."""

from __future__ import annotations

import pytest

from komoju_server.domain import secure_token
from komoju_server.domain.secure_token import ERRORED, NEEDS_VERIFY, OK, SKIPPED, Authentication, SecureToken


def token(return_url: str = "https://shop.example/done", status: str = NEEDS_VERIFY) -> SecureToken:
    return SecureToken(
        id="tok_abc123",
        merchant_id="m1",
        mode="test",
        status=status,
        created_at=0,
        expires_at=secure_token.LIFETIME_SECONDS,
        amount=1000,
        currency="JPY",
        return_url=return_url,
        authentication_url="http://127.0.0.1:8080/three_d_secure/tok_abc123",
        brand="visa",
        last_four_digits="5000",
        authentication=Authentication(challenge=True, passes=True),
    )


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [
        ("authenticate", NEEDS_VERIFY, OK),
        ("fail", NEEDS_VERIFY, ERRORED),
        ("authenticate", OK, None),
        ("fail", OK, None),
        ("authenticate", ERRORED, None),
        ("fail", SKIPPED, None),
    ],
)
def test_a_token_moves_only_out_of_needs_verify(action: str, status: str, target: str | None) -> None:
    assert secure_token.move(action, status) == target


def test_only_ok_and_skipped_pay_and_only_once() -> None:
    assert {OK, SKIPPED} == secure_token.PAYABLE
    for status in secure_token.STATUSES:
        assert token(status=status).payable == (status in (OK, SKIPPED))
    used = token(status=OK)
    used.used_at = 5
    assert not used.payable


@pytest.mark.parametrize(
    ("return_url", "location"),
    [
        ("https://shop.example/done", "https://shop.example/done?secure_token_id=tok_abc123"),
        ("https://shop.example/done?a=b%20c&x", "https://shop.example/done?a=b%20c&x&secure_token_id=tok_abc123"),
        ("https://shop.example/done#top", "https://shop.example/done?secure_token_id=tok_abc123#top"),
        ("myapp://paid?amount=1000", "myapp://paid?amount=1000&secure_token_id=tok_abc123"),
    ],
)
def test_the_customer_goes_back_with_the_token_id(return_url: str, location: str) -> None:
    assert token(return_url).return_location() == location


def test_the_api_object_and_what_is_stored() -> None:
    made = token()
    assert made.to_api() == {
        "id": "tok_abc123",
        "verification_status": NEEDS_VERIFY,
        "authentication_url": "http://127.0.0.1:8080/three_d_secure/tok_abc123",
        "created_at": "1970-01-01T00:00:00Z",
    }
    assert list(made.to_api(created=True)) == [
        "id",
        "secure_token",
        "verification_status",
        "authentication_url",
        "created_at",
    ]
    kept = SecureToken.from_doc(
        made.doc(), id=made.id, merchant_id="m1", mode="test", status=OK, created_at=0, expires_at=1, used_at=None
    )
    assert (kept.status, kept.authentication, kept.last_four_digits) == (OK, made.authentication, "5000")
