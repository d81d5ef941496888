"""The OpenAPI 3.1 document (`api/openapi.py`): valid, served, printed, made from the server's
own tables, and true to the server's real answers (openapi-core checks every request and
answer of the API document's examples and of a tour of every endpoint, in process)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from komoju_server.api import openapi
from komoju_server.api.inputs import BANK_ACCOUNT_FIELDS
from komoju_server.domain.errors import ERRORS
from komoju_server.domain.webhook import EVENT_TYPES
from komoju_server.methods.catalogue import KONBINI_STORES, METHODS
from tests.api.openapi_support import checked, spec_examples, strict_spec
from tests.inprocess import InProcessServer

CARD = {"type": "credit_card", "number": "4111111111111111", "month": "12", "year": "2030", "verification_value": "123"}
KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.com"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.document()


# -- the document itself -------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # openapi-spec-validator: the document and every schema in it
    validate(openapi.document(strict=True))
    strict_spec()  # and openapi-core builds its validators from it


def test_every_route_is_documented_and_every_declaration_is_a_route():
    routes = openapi.api_routes()
    assert openapi.undocumented(routes) == []
    served = {(method, route.template) for route in routes for method in route.methods}
    assert set(openapi.OPERATIONS) - served == set()
    assert len(served) == len(openapi.OPERATIONS) == 45


def test_the_paths_methods_and_keys_come_from_the_routes(doc):
    paths = doc["paths"]
    assert sorted(paths["/payments"]) == ["get", "post"]
    assert sorted(paths["/payments/{payment_id}"]) == ["get", "patch"]
    assert sorted(paths["/customers/{customer_id}"]) == ["delete", "get", "patch"]
    assert "/secure_tokens/{secure_token_id}" in paths and "/secure_tokens/tok_{suffix}" not in paths
    secret, either = [{"secretKey": []}], [{"publishableKey": []}, {"secretKey": []}]
    assert paths["/payments"]["post"]["security"] == secret
    assert paths["/tokens"]["post"]["security"] == either
    assert paths["/secure_tokens"]["post"]["security"] == either
    assert paths["/secure_tokens/{secure_token_id}"]["get"]["security"] == either
    assert paths["/sessions/{session_id}"]["get"]["security"] == either
    assert paths["/sessions/{session_id}/pay"]["post"]["security"] == either
    assert paths["/sessions/{session_id}/cancel"]["post"]["security"] == secret
    assert paths["/payment_methods"]["get"]["security"] == either
    assert paths["/openapi.json"]["get"]["security"] == []
    assert "401" not in paths["/openapi.json"]["get"]["responses"]
    assert paths["/payments"]["post"]["responses"]["401"] == {"$ref": "#/components/responses/Error401"}


def test_extensions_are_marked(doc):
    extension = {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if operation.get("x-komoju-extension")
    }
    assert extension == {
        "GET /sandbox/clock",
        "POST /sandbox/clock/advance",
        "POST /sandbox/reset",
        "POST /sandbox/maintenance",
        "POST /sandbox/payments/{payment_id}/complete",
        "POST /sandbox/payments/{payment_id}/fail",
        "POST /sandbox/payments/{payment_id}/refund_requests/{request_id}/complete",
        "POST /sandbox/payments/{payment_id}/refund_requests/{request_id}/reject",
        "GET /webhooks",
        "POST /webhooks",
        "GET /webhooks/{webhook_id}",
        "PATCH /webhooks/{webhook_id}",
        "POST /webhooks/{webhook_id}/ping",
        "DELETE /webhooks/{webhook_id}",
        "GET /webhooks/{webhook_id}/deliveries",
        "GET /events/{event_id}/deliveries",
        "POST /events/{event_id}/redeliver",
        "GET /openapi.json",
    }
    tags = {tag["name"]: tag.get("x-komoju-extension", False) for tag in doc["tags"]}
    assert tags["Sandbox (extension)"] is tags["Webhooks (extension)"] is True
    assert tags["Payments"] is False


def test_every_error_code_answers_with_its_status(doc):
    responses = doc["components"]["responses"]
    documented = {}
    for name, response in responses.items():
        status = int(name.removeprefix("Error"))
        codes = response["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]["enum"]
        for code in codes:
            documented[code] = status
            assert f"`{code}`: {ERRORS[code][1]}" in response["description"]
    assert documented == {code: status for code, (status, _message) in ERRORS.items()}
    create = doc["paths"]["/payments"]["post"]["responses"]
    assert sorted(create) == [
        "200",
        "202",
        "400",
        "401",
        "402",
        "403",
        "404",
        "409",
        "422",
        "429",
        "500",
        "502",
        "503",
        "504",
    ]
    assert sorted(doc["paths"]["/events"]["get"]["responses"]) == [
        "200",
        "400",
        "401",
        "403",
        "404",
        "422",
        "429",
        "500",
        "503",
    ]
    assert sorted(doc["paths"]["/openapi.json"]["get"]["responses"]) == ["200", "400", "404", "422", "500", "503"]


def test_every_payment_method_is_a_variant_of_payment_details(doc):
    schemas = doc["components"]["schemas"]
    for prefix in ("PaymentDetailsInput", "PaymentDetails", "TokenDetails", "CustomerDetails"):
        union = schemas[prefix]
        assert union["discriminator"]["propertyName"] == "type"
        assert list(union["discriminator"]["mapping"]) == [m.type for m in METHODS]
    for method in METHODS:
        given = schemas[f"PaymentDetailsInput_{method.type}"]
        assert given["properties"]["type"] == {"type": "string", "const": method.type}
        assert list(given["properties"]) == ["type", *(f.name for f in method.fields)]
        assert given["required"] == ["type", *(f.name for f in method.fields if f.required)]
        assert given["x-komoju-currencies"] == {c: {"min": lo, "max": hi} for c, (lo, hi) in method.limits.items()}
        for spec in method.fields:
            assert given["properties"][spec.name].get("writeOnly", False) is spec.secret
        answered = schemas[f"PaymentDetails_{method.type}"]
        assert list(answered["properties"]) == list(method.shows)
    konbini = schemas["PaymentDetailsInput_konbini"]["properties"]
    assert konbini["store"] == {"type": "string", "enum": list(KONBINI_STORES)}
    assert konbini["expiry_days"]["minimum"] == 0 and konbini["expiry_days"]["maximum"] == 59
    assert schemas["PaymentDetailsInput_bank_transfer"]["properties"]["expiry_days"]["minimum"] == 14
    card = schemas["PaymentDetailsInput_credit_card"]["properties"]
    assert card["number"]["writeOnly"] is True and card["month"]["maximum"] == 12
    refund_request = schemas["RefundRequestInput"]
    assert refund_request["required"] == [name for name, _rule in BANK_ACCOUNT_FIELDS]
    assert refund_request["properties"]["account_type"]["enum"] == ["normal", "ordinary", "checking", "savings"]


def test_both_body_encodings_and_the_rails_brackets(doc):
    body = doc["paths"]["/payments"]["post"]["requestBody"]
    assert body["required"] is True
    content = body["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/NewPayment"}
    form = content["application/x-www-form-urlencoded"]
    assert form["schema"] == {"$ref": "#/components/schemas/NewPayment"}
    assert form["encoding"] == {
        name: {"style": "deepObject", "explode": True}
        for name in ("payment_details", "metadata", "fraud_details", "webhooks")
    }
    assert "Rails-style brackets" in doc["info"]["description"]


def test_lists_answer_the_envelope(doc):
    answer = doc["paths"]["/payments"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["required"] == ["resource", "total", "page", "per_page", "last_page", "data"]
    assert answer["properties"]["data"] == {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}}
    names = [p.get("name", p.get("$ref")) for p in doc["paths"]["/payments"]["get"]["parameters"]]
    assert names == [
        "page",
        "per_page",
        "status",
        "currency",
        "external_order_num",
        "start_time",
        "end_time",
        "#/components/parameters/ApiVersion",
    ]


def test_webhooks_are_described_per_event_type(doc):
    assert list(doc["webhooks"]) == list(EVENT_TYPES)
    captured = doc["webhooks"]["payment.captured"]["post"]
    event = captured["requestBody"]["content"]["application/json"]["schema"]
    assert event["properties"]["type"] == {"type": "string", "const": "payment.captured"}
    assert event["properties"]["data"]["$ref"] == "#/components/schemas/Payment"
    assert [p["name"] for p in captured["parameters"]] == ["X-Komoju-ID", "X-Komoju-Event", "X-Komoju-Signature"]


def test_strict_closes_every_answer_object_but_no_request(doc):
    strict = openapi.document(strict=True)["components"]["schemas"]
    assert strict["Payment"]["additionalProperties"] is False
    assert strict["PaymentDetails_konbini"]["additionalProperties"] is False
    assert "additionalProperties" not in doc["components"]["schemas"]["Payment"]
    assert "additionalProperties" not in strict["NewPayment"]
    assert "additionalProperties" not in strict["PaymentDetailsInput_konbini"]


# -- served and printed --------------------------------------------------------------------------


def test_served_without_a_key(server: InProcessServer, doc):
    with server.client(None) as anyone:
        answer = anyone.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json() == json.loads(json.dumps(doc))
    with server.client("sk_test_nobody") as stranger:
        assert stranger.get("/openapi.json").status_code == 200


def test_the_command_prints_it(doc):
    printed = subprocess.run(
        [sys.executable, "-m", "komoju_server", "openapi"], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(printed.stdout) == json.loads(json.dumps(doc))
    compact = subprocess.run(
        [sys.executable, "-m", "komoju_server", "openapi", "--compact"], capture_output=True, timeout=60, check=True
    )
    assert compact.stdout == openapi.served() + b"\n"


# -- the server's answers against it ------------------------------------------------------------


def test_the_api_documents_examples_validate(server: InProcessServer):
    """Every example of the API document, sent as its curl sends it (form) and as JSON."""
    with server.client(server.secret_key) as api:
        seen = checked(api)
        examples = spec_examples()
        assert len(examples) == 41
        token = api.post("/tokens", json={"payment_details": CARD}).json()["id"]
        customer = None
        for example in examples:
            fields = [
                f.replace(f.split("=", 1)[1], token) if f.startswith("payment_details=tok_") else f
                for f in example.fields
            ]
            if customer is not None:
                fields = [f"customer={customer}" if f.startswith("customer=") else f for f in fields]
            as_form = api.post(
                example.path,
                content="&".join(fields).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert as_form.status_code == 200, (example.line, as_form.text)
            if example.path == "/customers":
                customer = as_form.json()["id"]
                continue
            if any(f.startswith("payment_details=tok_") for f in fields):
                token = api.post("/tokens", json={"payment_details": CARD}).json()["id"]  # that one is used up
                continue
            as_json = api.post(example.path, json=type(example)(example.line, example.path, tuple(fields)).json())
            assert as_json.status_code == 200, (example.line, as_json.text)
    # The first token; every example as a form; as JSON too but the two that use up a token
    # (which get a new one instead: the payment's; the customer's needs none after it).
    assert len(seen.calls) == 1 + 41 + (41 - 2) + 1
    assert seen.problems == []


def test_a_tour_of_every_endpoint_validates(server: InProcessServer):
    """Each documented operation called at least once, answers and errors alike."""
    merchant = server.new_merchant()
    with server.client(merchant["test_secret_key"]) as api, server.client(merchant["test_publishable_key"]) as pk:
        seen = checked(api)
        seen_pk = checked(pk)
        hook = api.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "secret_token": "s", "events": ["ping"]})
        assert hook.status_code == 200
        hook_id = hook.json()["id"]
        api.get("/webhooks")
        api.get(f"/webhooks/{hook_id}")
        api.get(f"/webhooks/{hook_id}/deliveries")
        api.patch(f"/webhooks/{hook_id}", json={"events": None, "secret_token": "t"})
        api.post(f"/webhooks/{hook_id}/ping")

        card = api.post(
            "/payments", json={"amount": 1000, "currency": "JPY", "payment_details": CARD, "capture": False}
        )
        card_id = card.json()["id"]
        api.post(f"/payments/{card_id}/capture", json={"amount": 500})
        api.post(f"/payments/{card_id}/refund", data={"amount": "100", "description": "part"})
        api.patch(f"/payments/{card_id}", json={"description": "changed", "metadata": {"order": "7"}})
        api.get(f"/payments/{card_id}")
        api.get("/payments", params={"status": "captured", "currency": "JPY", "per_page": 5})
        held = api.post(
            "/payments", json={"amount": 300, "currency": "JPY", "payment_details": CARD, "capture": "false"}
        )
        api.post(f"/payments/{held.json()['id']}/cancel")

        slip = api.post(
            "/payments",
            data={"amount": "1000", "currency": "JPY", **{f"payment_details[{k}]": v for k, v in KONBINI.items()}},
        )
        slip_id = slip.json()["id"]
        api.post(f"/sandbox/payments/{slip_id}/complete")
        bank = {
            "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
            "bank_name": "Mizuho",
            "bank_code": "0001",
            "branch_name": "Tokyo",
            "branch_number": "001",
            "account_type": "ordinary",
            "account_number": "1234567",
        }
        asked = api.post(f"/payments/{slip_id}/refund_request", json={**bank, "amount": 100})
        first = asked.json()["refund_requests"][0]["id"]
        api.post(f"/sandbox/payments/{slip_id}/refund_requests/{first}/reject")
        asked = api.post(f"/payments/{slip_id}/refund_request", json=bank)
        second = asked.json()["refund_requests"][1]["id"]
        api.post(f"/sandbox/payments/{slip_id}/refund_requests/{second}/complete")
        other = api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": KONBINI})
        api.post(f"/sandbox/payments/{other.json()['id']}/fail")
        short = api.post(
            "/payments",
            json={
                "amount": 3000,
                "currency": "JPY",
                "payment_details": {"type": "web_money", "prepaid_number": "1111111111111111"},
            },
        )
        assert short.status_code == 202
        api.patch(
            f"/payments/{short.json()['id']}",
            json={"payment_details": {"type": "web_money", "prepaid_number": "1111111111111111"}},
        )
        api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": {"type": "line_pay"}})
        api.post(
            "/payments",
            json={
                "amount": 1000,
                "currency": "JPY",
                "payment_details": {
                    "type": "bank_transfer",
                    "given_name": "太郎",
                    "family_name": "山田",
                    "given_name_kana": "タロウ",
                    "family_name_kana": "ヤマダ",
                    "phone": "0312345678",
                    "email": "taro@example.com",
                },
            },
        )
        api.post(
            "/payments",
            json={
                "amount": 1000,
                "currency": "JPY",
                "payment_details": {
                    "type": "pay_easy",
                    "given_name": "太郎",
                    "family_name": "山田",
                    "given_name_kana": "タロウ",
                    "family_name_kana": "ヤマダ",
                    "phone": "0312345678",
                    "email": "taro@example.com",
                },
            },
        )
        api.post(
            "/payments",
            json={"amount": 1000, "currency": "JPY", "payment_details": {**KONBINI, "store": "seven-eleven"}},
        )

        customer = api.post(
            "/customers", json={"payment_details": CARD, "email": "taro@example.com", "metadata": {"a": "b"}}
        )
        customer_id = customer.json()["id"]
        api.patch(f"/customers/{customer_id}", json={"email": "hanako@example.com"})
        api.get(f"/customers/{customer_id}")
        api.get("/customers", params={"start_time": "2000-01-01T00:00:00Z"})
        subscription = api.post(
            "/subscriptions", json={"customer": customer_id, "amount": 500, "currency": "JPY", "period": "weekly"}
        )
        subscription_id = subscription.json()["id"]
        api.get(f"/subscriptions/{subscription_id}")
        api.get("/subscriptions")
        api.delete(f"/subscriptions/{subscription_id}")
        gone = api.post("/customers", json={"payment_details": KONBINI})
        api.delete(f"/customers/{gone.json()['id']}")

        events = api.get("/events", params={"per_page": 100}).json()["data"]
        assert {e["type"].split(".")[0] for e in events} >= {"payment", "customer", "subscription", "ping"}
        api.get(f"/events/{events[0]['id']}")
        api.get(f"/events/{events[0]['id']}/deliveries")
        api.post(f"/events/{events[-1]['id']}/redeliver")

        session = api.post(
            "/sessions",
            json={
                "amount": 1200,
                "currency": "JPY",
                "return_url": "https://shop.example/done",
                "email": "taro@example.com",
                "line_items": [{"amount": 1200, "description": "tea", "quantity": 1}],
                "payment_data": {"capture": "manual", "billing_address": {"city": "Tokyo"}},
                "metadata": {"cart": "1"},
            },
        )
        session_id = session.json()["id"]
        pk.get(f"/sessions/{session_id}")
        pk.post(f"/sessions/{session_id}/pay", json={"payment_details": KONBINI})
        api.get(f"/sessions/{session_id}")
        saving = api.post("/sessions", json={"mode": "customer", "currency": "JPY"})
        pk.post(f"/sessions/{saving.json()['id']}/pay", json={"payment_details": CARD})
        dropped = api.post("/sessions", data={"amount": "500", "currency": "JPY", "payment_types[]": "konbini"})
        api.post(f"/sessions/{dropped.json()['id']}/cancel")

        pk.post("/tokens", json={"payment_details": KONBINI})
        secure = pk.post(
            "/secure_tokens",
            json={
                "amount": 1000,
                "currency": "JPY",
                "return_url": "https://shop.example/3ds",
                "payment_details": {**CARD, "number": "4100000000005000"},
            },
        )
        pk.get(f"/secure_tokens/{secure.json()['id']}")
        pk.get("/payment_methods")

        api.get("/sandbox/clock")
        api.post("/sandbox/clock/advance", json={"seconds": 60})
        api.post("/sandbox/maintenance", json={"enabled": True})
        api.post("/sandbox/maintenance", data={"enabled": "false"})
        api.delete(f"/webhooks/{hook_id}")

        # Errors, each with its documented status and code.
        api.post("/payments", json={"currency": "JPY", "payment_details": KONBINI})  # 422 missing_parameter
        api.post("/payments", json={"amount": 1, "currency": "XXX", "payment_details": KONBINI})  # 422
        api.post("/payments", content=b"{not json", headers={"Content-Type": "application/json"})  # 400
        api.get("/payments/nosuchpayment")  # 404
        api.post(f"/payments/{slip_id}/capture")  # 422 not_capturable
        api.post(
            "/payments",
            json={"amount": 1000, "currency": "JPY", "payment_details": {**CARD, "number": "4123111111111059"}},
        )  # 502 card_declined
        pk.get("/payments")  # 403 forbidden
        with server.client("sk_test_unknown") as stranger:
            assert stranger.get("/payments").status_code == 401
            seen_stranger = checked(stranger)
            stranger.get("/customers")

        api.post("/sandbox/reset")

    statuses = {status for _m, _p, status in seen.calls + seen_pk.calls + seen_stranger.calls}
    assert statuses == {200, 202, 400, 401, 403, 404, 422, 502}
    called = {(m, p) for m, p, _s in seen.calls + seen_pk.calls}
    documented = len(openapi.OPERATIONS) - 1  # all but GET /openapi.json, fetched by its own test
    assert len({_operation_of(m, p) for m, p in called}) == documented
    assert seen.problems + seen_pk.problems + seen_stranger.problems == []


def _operation_of(method: str, path: str) -> tuple[str, str]:
    """The documented operation a call went to."""
    parts = path.removeprefix("/api/v1").strip("/").split("/")
    for (m, template), operation in openapi.OPERATIONS.items():
        shown = (operation.path or template).strip("/").split("/")
        if (
            m == method
            and len(shown) == len(parts)
            and all(s == p or s.startswith("{") for s, p in zip(shown, parts, strict=True))
        ):
            return m, template
    raise AssertionError(f"no operation for {method} {path}")


def test_a_mismatch_is_caught(server: InProcessServer):
    """The check itself can fail: an answer with a field the document does not list."""
    with server.client(server.secret_key) as api:
        seen = checked(api)
        answer = api.get("/payment_methods")
        assert answer.status_code == 200
        changed = httpx.Response(
            200,
            json=[{**answer.json()[0], "surprise": 1}],
            request=answer.request,
            headers={"Content-Type": "application/json"},
        )
        seen.check(changed)
    assert len(seen.problems) == 1
    assert "surprise" in seen.problems[0]


def test_a_request_the_document_refuses_is_caught():
    from tests.api.openapi_support import _Request

    spec = strict_spec()
    auth = {"Authorization": "Basic c2tfdGVzdF94Og=="}
    good = {"amount": "1000", "currency": "JPY", "payment_details": KONBINI}
    bad = {"amount": 1000, "currency": "JPY", "payment_details": {**KONBINI, "store": "nowhere"}}
    url = "http://127.0.0.1:9/api/v1/payments"
    assert list(spec.iter_request_errors(_Request(httpx.Request("POST", url, json=good, headers=auth)))) == []
    refused = list(spec.iter_request_errors(_Request(httpx.Request("POST", url, json=bad, headers=auth))))
    assert [type(e).__name__ for e in refused] == ["InvalidRequestBody"]
    form = {
        "amount": "1000",
        "currency": "JPY",
        **{f"payment_details[{k}]": v for k, v in bad["payment_details"].items()},
    }
    refused = list(spec.iter_request_errors(_Request(httpx.Request("POST", url, data=form, headers=auth))))
    assert [type(e).__name__ for e in refused] == ["InvalidRequestBody"]
