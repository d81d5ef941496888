"""Auth, bodies, errors, lists and the health check served in process on both databases."""

from __future__ import annotations

NOT_FOUND = {
    "error": {
        "code": "not_found",
        "param": None,
        "message": "The requested resource could not be found but may be available again in the future.",
    }
}
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "User authorization failed.", "param": None}}
FORBIDDEN = {"error": {"code": "forbidden", "message": "You are not authorized to perform that action.", "param": None}}


def test_health_answers_200(server):
    with server.client(None, base_url=server.url) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"]


def test_no_key_is_401_with_the_envelope(server):
    with server.client(None) as anonymous:
        response = anonymous.get("/payments")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == UNAUTHORIZED


def test_unknown_key_is_401(server):
    with server.client("sk_test_nobody") as stranger:
        assert stranger.get("/payments").json() == UNAUTHORIZED


def test_publishable_key_is_403_on_payments(server):
    with server.client(server.publishable_key) as public:
        response = public.get("/payments")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def test_secret_key_lists_nothing_on_a_new_merchant(merchant_api):
    response = merchant_api.get("/payments")
    assert response.status_code == 200
    assert response.json() == {"resource": "list", "total": 0, "page": 1, "per_page": 10, "last_page": 0, "data": []}


def test_password_is_ignored(server):
    with server.client(None, auth=(server.secret_key, "anything")) as client:
        assert client.get("/payments").status_code == 200


def test_unknown_route_is_404_json(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_wrong_method_is_405_method_not_allowed(api):
    response = api.delete("/payments")
    assert response.status_code == 405
    assert response.json() == {
        "error": {
            "code": "method_not_allowed",
            "message": "The method is not allowed for the requested resource.",
            "param": None,
        }
    }
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


def test_every_response_has_a_request_id(api):
    ids = {api.get("/payments").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


def test_undecodable_json_is_400(api):
    response = api.post("/payments", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_invalid_utf8_form_is_400(api):
    response = api.post(
        "/payments", content=b"amount=\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_json_array_body_is_400(api):
    response = api.post("/payments", json=[1, 2])
    assert response.status_code == 400


def test_per_page_bounds(api):
    for bad in ("0", "101", "abc", "-1"):
        response = api.get("/payments", params={"per_page": bad})
        assert response.status_code == 422, bad
        assert response.json() == {
            "error": {"code": "invalid_parameter", "param": "per_page", "message": "The value of per_page is invalid"}
        }
    assert api.get("/payments", params={"per_page": "100"}).json()["per_page"] == 100


def test_other_merchants_payment_is_404(api, merchant_api):
    created = api.post(
        "/payments",
        data={
            "amount": "100",
            "currency": "JPY",
            "payment_details[type]": "credit_card",
            "payment_details[number]": "4111111111111111",
            "payment_details[month]": "1",
            "payment_details[year]": "2030",
        },
    ).json()
    assert api.get(f"/payments/{created['id']}").status_code == 200
    response = merchant_api.get(f"/payments/{created['id']}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_live_key_does_not_see_test_data(server, merchant):
    with server.client(merchant["test_secret_key"]) as test, server.client(merchant["live_secret_key"]) as live:
        created = test.post(
            "/payments",
            data={
                "amount": "100",
                "currency": "JPY",
                "payment_details[type]": "konbini",
                "payment_details[store]": "lawson",
                "payment_details[email]": "a@example.com",
            },
        ).json()
        assert live.get(f"/payments/{created['id']}").status_code == 404
        assert live.get("/payments").json()["total"] == 0
        assert test.get("/payments").json()["total"] == 1


def test_lists_page_newest_first_with_exact_counts(merchant_api):
    ids = []
    for n in range(23):
        created = merchant_api.post(
            "/payments",
            json={
                "amount": 100 + n,
                "currency": "JPY",
                "external_order_num": f"order-{n}",
                "payment_details": {"type": "konbini", "store": "lawson", "email": "a@example.com"},
            },
        )
        assert created.status_code == 200
        ids.append(created.json()["id"])
    newest_first = ids[::-1]
    pages = [merchant_api.get("/payments", params={"page": p, "per_page": 10}).json() for p in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [23] * 4
    assert [p["last_page"] for p in pages] == [3] * 4
    assert [[item["id"] for item in p["data"]] for p in pages] == [
        newest_first[:10],
        newest_first[10:20],
        newest_first[20:],
        [],
    ]
    filtered = merchant_api.get("/payments", params={"external_order_num": "order-7"}).json()
    assert (filtered["total"], [p["id"] for p in filtered["data"]]) == (1, [ids[7]])
