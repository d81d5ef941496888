"""Replays the examples of KOMOJU's current API reference (tests/fidelity/examples.py) as a
client would, in process on both databases, and holds each answer against the printed one
field by field: every field of the example present, with the same JSON type, and the same
value unless it is generated (`IGNORED_VALUES`) or a declared deliberate difference. Fields we
answer beyond an example are listed by a test of their own against `EXTRA_FIELDS_ALLOWED`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.fidelity.examples import (
    EXAMPLES,
    EXTRA_FIELDS_ALLOWED,
    IGNORED_VALUES,
    SCHEMA_FIELDS,
    Example,
)

Form = tuple[tuple[str, str], ...]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", dict: "object", list: "array"}.get(type(value), type(value).__name__)


def differences(want: Any, got: Any, deliberate: dict[str, str], path: str = "") -> Iterator[str]:
    """Every way `got` falls short of the example `want`: missing fields, other JSON types,
    other values (except generated ones and the deliberate differences)."""
    here = path or "(body)"
    if path in deliberate:  # present (checked by the caller); its type and value are ours
        return
    if _json_type(want) != _json_type(got):
        yield f"{here}: {_json_type(got)} {got!r}, want {_json_type(want)} {want!r}"
        return
    if isinstance(want, dict):
        for key, value in want.items():
            sub = f"{path}.{key}" if path else key
            if key not in got:
                yield f"{sub}: missing"
            else:
                yield from differences(value, got[key], deliberate, sub)
    elif isinstance(want, list):
        if len(want) != len(got):
            yield f"{here}: {len(got)} items, want {len(want)}"
            return
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            yield from differences(w, g, deliberate, f"{path}.{index}" if path else str(index))
    elif path.rsplit(".", 1)[-1] not in IGNORED_VALUES and want != got:
        yield f"{here}: {got!r}, want {want!r}"


def extra_fields(want: Any, got: Any, owner: str = "", rel: str = "") -> Iterator[str]:
    """Fields of `got` the example lacks, named `<resource>.<field path>` (the path inside the
    nearest object with a `resource`)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if isinstance(got.get("resource"), str):
            owner, rel = got["resource"], ""
        for key, value in got.items():
            if key not in want:
                yield f"{owner}.{rel}{key}"
            else:
                yield from extra_fields(want[key], value, owner, f"{rel}{key}.")
    elif isinstance(want, list) and isinstance(got, list):
        for w, g in zip(want, got, strict=False):
            yield from extra_fields(w, g, owner, rel)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_form(
    client: httpx.Client,
    method: str,
    path: str,
    form: Form | list[tuple[str, str]],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Sends the fields form-encoded, in order and repeated keys kept, as `curl -d` does."""
    return client.request(method, path, content=urlencode(list(form)).encode(), headers={**FORM, **(headers or {})})


# What each example needs to exist before its request, made through the API as a client would.
# Each returns the ids the example's path refers to.
def _created(client: httpx.Client, path: str, form: Form | list[tuple[str, str]]) -> dict[str, Any]:
    response = post_form(client, "POST", path, form)
    assert response.status_code == 200, response.text
    return response.json()


def _payment(client: httpx.Client, form: Form) -> dict[str, str]:
    return {"payment": _created(client, "/payments", form)["id"]}


def _completed_payment(client: httpx.Client, form: Form) -> dict[str, str]:
    ids = _payment(client, form)
    response = client.post(f"/sandbox/payments/{ids['payment']}/complete")
    assert response.status_code == 200, response.text
    return ids


def _customer(client: httpx.Client, form: Form) -> dict[str, str]:
    return {"customer": _created(client, "/customers", form)["id"]}


def _customers(client: httpx.Client, form: Form) -> dict[str, str]:
    for _, email in form:
        _created(client, "/customers", [("email", email), ("metadata[order_id]", "abcdefg")])
    return {}


def _captured_card_event(client: httpx.Client, form: Form) -> dict[str, str]:
    payment = _payment(client, form)["payment"]
    events = client.get("/events", params={"per_page": 100}).json()["data"]
    (event,) = [e for e in events if e["type"] == "payment.captured" and e["data"]["id"] == payment]
    return {"event": event["id"]}


def _subscription(client: httpx.Client, form: Form) -> dict[str, str]:
    customer = _customer(client, form)["customer"]
    body = [("customer", customer), ("amount", "1000"), ("currency", "JPY"), ("period", "monthly")]
    return {"subscription": _created(client, "/subscriptions", body)["id"], "customer": customer}


def _captured_then_updated_card_payment(client: httpx.Client, form: Form) -> dict[str, str]:
    payment = _payment(client, form)["payment"]
    response = post_form(client, "PATCH", f"/payments/{payment}", [("description", "updated")])
    assert response.status_code == 200, response.text
    return {"payment": payment}


def _verified_secure_token(client: httpx.Client, form: Form) -> dict[str, str]:
    """A secure token of a frictionless test card, authenticated by visiting its page."""
    token = _created(client, "/secure_tokens", form)
    visit = client.get(token["authentication_url"])
    assert visit.status_code == 303, visit.text
    return {"secure_token": token["id"]}


SETUPS: dict[str, Callable[[httpx.Client, Form], dict[str, str]]] = {
    "payment": _payment,
    "completed_payment": _completed_payment,
    "customer": _customer,
    "customers": _customers,
    "captured_card_event": _captured_card_event,
    "subscription": _subscription,
    "captured_then_updated_card_payment": _captured_then_updated_card_payment,
    "verified_secure_token": _verified_secure_token,
}


def replay(client: httpx.Client, example: Example) -> httpx.Response:
    ids = SETUPS[example.setup](client, example.setup_form) if example.setup else {}
    path = example.path.format(**ids)
    headers = dict(example.headers)
    if example.method == "GET":
        return client.get(path, headers=headers)
    return post_form(client, example.method, path, [(k, v.format(**ids)) for k, v in example.form], headers)


def sorted_lists(body: Any, example: Example) -> Any:
    """`body` with the lists of `example.sort_lists` ordered by their key field."""
    for path, key in example.sort_lists.items():
        holder = body
        *parents, last = path.split(".")
        for part in parents:
            holder = holder[part]
        holder[last] = sorted(holder[last], key=lambda item: item.get(key))
    return body


def by_name(examples: tuple[Example, ...]) -> list[Any]:
    return [pytest.param(e, id=e.name) for e in examples]


def test_the_comparison_names_every_shortfall_and_only_those() -> None:
    want = {"id": "x", "status": "captured", "amount": 300, "details": {"month": 3}, "refunds": [], "gone": None}
    got = {"id": "other", "status": "pending", "amount": "300", "details": {"month": 3}, "refunds": [1], "more": 1}
    assert list(differences(want, got, {})) == [
        "status: 'pending', want 'captured'",
        "amount: string '300', want integer 300",
        "refunds: 1 items, want 0",
        "gone: missing",
    ]
    assert list(differences(want, got, {"status": "why", "amount": "why", "refunds": "why"})) == ["gone: missing"]
    assert list(extra_fields({"resource": "payment", "details": {}}, {"resource": "payment", "details": {"a": 1}})) == [
        "payment.details.a"
    ]


@pytest.mark.parametrize("example", by_name(EXAMPLES))
def test_answers_as_the_reference_prints(merchant_api: httpx.Client, example: Example) -> None:
    response = replay(merchant_api, example)
    assert response.status_code == example.status, response.text
    want = sorted_lists(copy.deepcopy(example.response), example)
    got = sorted_lists(response.json(), example)
    assert list(differences(want, got, example.deliberate)) == []


@pytest.mark.parametrize("example", by_name(tuple(e for e in EXAMPLES if not e.truncated)))
def test_extra_fields_are_allowed(merchant_api: httpx.Client, example: Example) -> None:
    response = replay(merchant_api, example)
    allowed = {f"{resource}.{name}" for resource, names in EXTRA_FIELDS_ALLOWED.items() for name in names}
    want = sorted_lists(copy.deepcopy(example.response), example)
    extra = set(extra_fields(want, sorted_lists(response.json(), example), example.resource))
    assert sorted(extra - allowed) == []


def test_every_example_cites_a_reference_page() -> None:
    names = [e.name for e in EXAMPLES]
    assert len(names) == len(set(names))
    for example in EXAMPLES:
        assert example.source.startswith(
            ("https://docs.komoju.com/", "https://doc.komoju.com/", "https://ja.doc.komoju.com/")
        )
        assert example.setup is None or example.setup in SETUPS


# One object of each model, made as a client would; `SCHEMA_FIELDS` names the fields each must have.
CARD = {"type": "credit_card", "number": "4111111111111111", "month": "12", "year": "2035", "email": "a@example.com"}
KONBINI = {"type": "konbini", "store": "lawson", "email": "a@example.com"}
BANK = {
    "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "bank_name": "KOMOJU BANK",
    "bank_code": "1234",
    "branch_name": "KOMOJU BRANCH",
    "branch_number": "123",
    "account_type": "normal",
    "account_number": "1234567",
}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def objects_of_every_model(client: httpx.Client) -> dict[str, dict[str, Any]]:
    paid = _ok(client.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD}))
    refunded = _ok(client.post(f"/payments/{paid['id']}/refund", json={"amount": 100}))
    slip = _ok(client.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": KONBINI}))
    _ok(client.post(f"/sandbox/payments/{slip['id']}/complete"))
    requested = _ok(client.post(f"/payments/{slip['id']}/refund_request", json={**BANK, "amount": 1000}))
    customer = _ok(client.post("/customers", json={"payment_details": CARD}))
    body = {"customer": customer["id"], "amount": 500, "currency": "JPY", "period": "monthly"}
    subscription = _ok(client.post("/subscriptions", json=body))
    body = {"amount": 1000, "currency": "JPY", "return_url": "https://example.com/done", "payment_details": CARD}
    secure_token = _ok(client.post("/secure_tokens", json=body))
    session = _ok(
        client.post("/sessions", json={"amount": 1000, "currency": "JPY", "return_url": "https://example.com"})
    )
    event = _ok(client.get("/events"))["data"][0]
    return {
        "payment": paid,
        "refund": refunded["refunds"][0],
        "refund_request": requested["refund_requests"][0],
        "customer": customer,
        "subscription": subscription,
        "subscription.customer": subscription["customer"],
        "subscription.payment_details": subscription["payment_details"],
        "secure_token": secure_token,
        "secure_token (GET)": _ok(client.get(f"/secure_tokens/{secure_token['id']}")),
        "event": event,
        "session": session,
    }


def test_every_field_of_the_current_schema_is_answered(merchant_api: httpx.Client) -> None:
    made = objects_of_every_model(merchant_api)
    missing = {name: sorted(set(SCHEMA_FIELDS[name.split(" ")[0]][1]) - set(obj)) for name, obj in made.items()}
    assert {name: fields for name, fields in missing.items() if fields} == {}
    assert {name.split(" ")[0] for name in made} == set(SCHEMA_FIELDS)
