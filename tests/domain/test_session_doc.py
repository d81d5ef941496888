"""A session's stored document: every field but the version (the row keeps it), read back whole."""

from __future__ import annotations

import dataclasses

import orjson

from komoju_server.domain.session import Session


def test_a_session_reads_back_from_its_document_with_the_rows_version():
    session = Session(
        "s1",
        "m1",
        "test",
        "payment",
        1500,
        "JPY",
        1_700_000_000,
        1_700_086_400,
        ["credit_card", "konbini"],
        metadata={"order": {"id": 42, "tags": ["a", "b"]}},
        payment_data={"capture": "manual"},
        line_items=[{"description": "tea", "amount": 1500, "quantity": 1}],
        version=4,
    )
    doc = session.to_doc()
    assert "version" not in orjson.loads(doc)
    assert list(orjson.loads(doc)) == [f.name for f in dataclasses.fields(Session) if f.name != "version"]
    assert Session.from_doc(doc, 4) == session
    assert Session.from_doc(doc.encode(), 9) == dataclasses.replace(session, version=9)
