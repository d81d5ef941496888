"""The API through a real `komoju-server serve` process over real HTTP on 127.0.0.1, on both
databases: the tier that proves what tests/api (served in process) cannot, namely uvicorn,
its HTTP parser and sockets, the URLs handed out from the address a request really came to,
`--public-url`, races over separate connections, and what the process prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx

from tests.api.payment_support import card, created, error, konbini, pay
from tests.api.test_payment_methods import METHODS
from tests.api.test_payment_races import THREADS, post, race
from tests.support import ServerProcess


def test_health_and_auth_over_http(real_server: ServerProcess):
    health = httpx.get(real_server.url + "/health", timeout=30)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert health.headers["X-Request-Id"]
    with real_server.client(None) as anonymous:
        assert anonymous.get("/payments").json()["error"]["code"] == "unauthorized"
    with real_server.client(real_server.publishable_key) as public:
        assert public.get("/payments").json()["error"]["code"] == "forbidden"


def test_urls_handed_out_are_the_address_the_request_came_to(real_server: ServerProcess):
    with real_server.client(real_server.secret_key) as api:
        slip = created(api, konbini())
        offsite = created(api, {"type": "paidy"})
    assert slip["payment_details"]["instructions_url"] == f"{real_server.url}/instructions/{slip['id']}"
    assert offsite["payment_details"]["redirect_url"] == f"{real_server.url}/offsite/{offsite['id']}"


def test_public_url_is_used_for_the_urls_handed_out(real_server: ServerProcess):
    """`serve --public-url`: a second process on the same database hands out its URLs."""
    public = ServerProcess.start(
        real_server.database_url,
        real_server.secret_key,
        real_server.publishable_key,
        extra=["--public-url", "https://pay.example.com/"],
    )
    try:
        with public.client(real_server.secret_key) as client:
            slip = pay(client, METHODS["konbini"].details).json()
            offsite = pay(client, METHODS["line_pay"].details).json()
    finally:
        public.stop()
    assert slip["payment_details"]["instructions_url"] == f"https://pay.example.com/instructions/{slip['id']}"
    assert offsite["payment_details"]["redirect_url"] == f"https://pay.example.com/offsite/{offsite['id']}"


def test_a_payment_lives_its_life_over_http(real_server: ServerProcess):
    with real_server.client(real_server.secret_key) as api:
        held = created(api, card(), capture=False)
        assert held["status"] == "authorized"
        captured = api.post(f"/payments/{held['id']}/capture")
        assert captured.status_code == 200, captured.text
        assert captured.json()["status"] == "captured"
        refunded = api.post(f"/payments/{held['id']}/refund", data={"amount": "100"})
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["amount_refunded"] == 100
        slip = created(api, konbini())
        assert api.post(f"/sandbox/payments/{slip['id']}/complete").json()["status"] == "captured"
        listed = api.get("/payments", params={"per_page": 2}).json()
        assert [p["id"] for p in listed["data"]] == [slip["id"], held["id"]]
        types = [e["type"] for e in api.get("/events", params={"per_page": 5}).json()["data"]]
        assert types[:2] == ["payment.captured", "payment.authorized"]
        assert "payment.refund.created" in types


def test_parallel_refunds_over_separate_connections_never_take_more_than_the_total(real_server: ServerProcess):
    with real_server.client(real_server.secret_key) as api:
        payment = created(api, card())  # total 1100
        answers = race(real_server, [post(f"/payments/{payment['id']}/refund", {"amount": 300})] * THREADS)
        statuses = Counter(r.status_code for r in answers)
        assert statuses == {200: 3, 422: THREADS - 3}, [r.text for r in answers]
        for refused in (r for r in answers if r.status_code == 422):
            assert refused.json() == error("not_refundable", "amount")
        final = api.get(f"/payments/{payment['id']}").json()
    assert (final["status"], final["amount_refunded"]) == ("captured", 900)


def test_garbage_on_the_wire_answers_the_envelope_and_the_process_prints_no_failure(real_server: ServerProcess):
    mark = len(real_server.output)
    too_big = b'{"description": "' + b"x" * 1_000_001 + b'"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must stop reading at its limit
        for at in range(0, len(too_big), 65_536):
            yield too_big[at : at + 65_536]

    with real_server.client(real_server.secret_key) as api, real_server.client(None) as anonymous:
        json_type = {"Content-Type": "application/json"}
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        answers = [
            ("bad_request", api.post("/payments", content=b"{not json", headers=json_type)),
            ("bad_request", api.post("/payments", content=too_big, headers=json_type)),
            ("bad_request", api.post("/payments", content=chunks(), headers=json_type)),
            ("bad_request", api.post("/payments", content=b"a%00=1", headers=form_type)),
            ("not_found", api.get("/payments/%00")),
            ("not_found", api.post("/payments/..%2F..%2Fetc/refund", json={})),
            ("unauthorized", anonymous.get("/payments", headers={"Authorization": b"Basic \xff\xfe"})),
            ("unauthorized", anonymous.post("/payments", headers={"Authorization": "Basic " + "A" * 10_000})),
        ]
    for code, response in answers:
        assert 400 <= response.status_code < 500, (code, response.status_code, response.text[:300])
        assert response.json()["error"]["code"] == code, response.text[:300]
    mine = real_server.output[mark:]
    assert not [line for line in mine if " failed: " in line], "".join(mine)[-3000:]
    assert "Traceback" not in "".join(real_server.output)
