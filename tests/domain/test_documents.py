"""Stored documents of sessions, customers and subscriptions: every field but the version (the
row keeps it), in field order, read back whole with the row's version."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from komoju_server.domain.customer import Customer
from komoju_server.domain.session import Session
from komoju_server.domain.subscription import Subscription

NESTED = {"order": {"id": 42, "tags": ["a", "b"]}, "note": "お茶"}

EXAMPLES: list[Any] = [
    Session(
        "s1",
        "m1",
        "test",
        "payment",
        1500,
        "JPY",
        1_700_000_000,
        1_700_086_400,
        ["credit_card", "konbini"],
        metadata=NESTED,
        payment_data={"capture": "manual"},
        line_items=[{"description": "tea", "amount": 1500, "quantity": 1}],
        version=4,
    ),
    Customer(
        "c1",
        "m1",
        "test",
        1_700_000_000,
        "credit_card",
        {"type": "credit_card", "brand": "visa", "last_four_digits": "1111"},
        email="a@example.com",
        metadata=NESTED,
        version=2,
    ),
    Customer("c2", "m1", "live", 1_700_000_000, None, None),
    Subscription(
        "sub1",
        "m1",
        "test",
        "active",
        1000,
        "JPY",
        "monthly",
        "c1",
        1_700_000_000,
        1_700_000_000,
        1_702_592_000,
        {"type": "credit_card", "brand": "visa"},
        metadata=NESTED,
        payments=["p1", "p2"],
        customer_record={"email": "a@example.com"},
        version=7,
    ),
]


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda value: f"{type(value).__name__}-{value.id}")
def test_a_document_holds_every_field_but_the_version_and_reads_back_whole(value):
    kind = type(value)
    doc = value.to_doc()
    assert list(orjson.loads(doc)) == [f.name for f in dataclasses.fields(kind) if f.name != "version"]
    assert kind.from_doc(doc, value.version) == value
    assert kind.from_doc(doc.encode(), 9) == dataclasses.replace(value, version=9)
