"""A payment's stored document: written by to_doc, read back by from_doc, old ones included."""

from __future__ import annotations

import dataclasses

import orjson

from komoju_server.domain.payment import Payment


def _payment() -> Payment:
    return Payment(
        "p1",
        "m1",
        "test",
        "credit_card",
        "captured",
        1000,
        100,
        "JPY",
        1_700_000_000,
        {"type": "credit_card", "brand": "visa", "last_four_digits": "1111"},
        captured_at=1_700_000_100,
        metadata={"order": "42"},
        refunds=[{"id": "r1", "amount": 100}],
        webhooks=["https://example.com/hook"],
        reference="ref1",
        version=2,
    )


def test_a_document_reads_back_as_the_payment_with_the_rows_version():
    payment = _payment()
    assert Payment.from_doc(payment.to_doc(), 7) == dataclasses.replace(payment, version=7)
    assert Payment.from_doc(payment.to_doc().encode(), 2) == payment


def test_a_document_with_its_fields_in_another_order_reads_back_the_same():
    written = orjson.loads(_payment().to_doc())
    reordered = dict(reversed(list(written.items())))
    assert list(reordered) != list(written)
    assert Payment.from_doc(orjson.dumps(reordered), 2) == _payment()


def test_a_document_holds_every_field_but_the_version_which_the_row_keeps():
    assert list(orjson.loads(_payment().to_doc())) == [f.name for f in dataclasses.fields(Payment)][:-1]


def test_an_older_document_reads_back_with_defaults_whatever_the_order_of_its_fields():
    # Before the row alone kept it, a document held the version too (ignored: the row's wins).
    written = {**orjson.loads(_payment().to_doc()), "version": 1}
    for missing in ("session", "refund_references", "authorized"):
        del written[missing]
    reordered = dict(reversed(list(written.items())))
    for doc in (orjson.dumps(written), orjson.dumps(reordered)):
        read = Payment.from_doc(doc, 3)
        assert read == dataclasses.replace(_payment(), session=None, refund_references={}, authorized=None, version=3)
