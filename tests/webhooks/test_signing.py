"""X-Komoju-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed with the secret token."""

from __future__ import annotations

from komoju_server.webhooks.signing import HEADER, sign, verify

# RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
RFC_BODY = b"what do ya want for nothing?"
RFC_MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_sign_matches_the_rfc_4231_vector():
    assert sign("Jefe", RFC_BODY) == RFC_MAC


def test_sign_is_lowercase_hex_of_64_characters():
    signature = sign("secret", b'{"id":"x"}')
    assert len(signature) == 64
    assert signature == signature.lower()
    int(signature, 16)


def test_the_secret_is_utf8():
    assert sign("秘密", b"body") != sign("??", b"body")
    assert sign("秘密", b"body") == sign("秘密", b"body")


def test_verify_accepts_the_signature_and_refuses_any_change():
    body = b'{"id":"evt","type":"ping"}'
    signature = sign("s3cret", body)
    assert verify("s3cret", body, signature)
    assert verify("s3cret", body, signature.upper())  # hex is hex, whatever the case
    assert not verify("s3cret", body + b" ", signature)
    assert not verify("other", body, signature)
    assert not verify("s3cret", body, signature[:-1] + ("0" if signature[-1] != "0" else "1"))


def test_the_header_name():
    assert HEADER == "X-Komoju-Signature"
