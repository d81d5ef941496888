"""POST/GET /secure_tokens, the authentication page over plain HTTP, and paying with a secure
token, served in process on both databases.

Each of KOMOJU's twelve 3-D Secure test cards ends where the catalogue says (frictionless or by
challenge, passing or failing); a card outside it is SKIPPED. A token pays only once it is OK or
SKIPPED, only once, only its own amount and currency, and never after it failed or expired; a
declined or refused payment leaves it usable. (tests/pages/test_three_d_secure.py walks the same
page in Chromium.)
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from komoju_server.services.payments import OTHER_PAYMENT
from komoju_server.services.secure_tokens import FAILED, LIVE_REFUSAL, NOT_VERIFIED, USED
from tests.api.payment_support import TIME, Match, card, error
from tests.inprocess import InProcessServer

TOKEN_ID = Match(r"tok_[a-z0-9]{25}")
RETURN_URL = "https://shop.example/orders/7/done?step=3d"
PASSING_PASSWORD = "123456"
FAILING_PASSWORD = "111111"
DAY = 86_400

FRICTIONLESS_PASS = ("4100000000000100", "5100000000000107", "3528000000000106")
CHALLENGE_PASS = ("4100000000005000", "5100000000005007", "3528000000005006")
FRICTIONLESS_FAIL = ("4100000000500000", "5100000000500007", "3528000000500006")
CHALLENGE_FAIL = ("4100000000300005", "5100000000300002", "3528000000300001")
BRANDS = ("visa", "master", "jcb")


def invalid_token(message: str) -> dict[str, Any]:
    return error("invalid_token", "payment_details", message)


UNKNOWN_TOKEN = error("invalid_token", "payment_details", "The token you requested is invalid")


def secure_token(client: httpx.Client, details: Any = None, **fields: Any) -> httpx.Response:
    body = {"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, **fields}
    if details is not None:
        body["payment_details"] = details
    return client.post("/secure_tokens", json=body)


def made(client: httpx.Client, number: str = "4100000000005000", **fields: Any) -> dict[str, Any]:
    response = secure_token(client, card(number, verification_value="123", name="Test Card"), **fields)
    assert response.status_code == 200, response.text
    return response.json()


def pay(client: httpx.Client, token: str, amount: int = 1000, currency: str = "JPY", **extra: Any) -> httpx.Response:
    return client.post("/payments", json={"amount": amount, "currency": currency, "payment_details": token, **extra})


def status(client: httpx.Client, token: dict[str, Any]) -> str:
    response = client.get(f"/secure_tokens/{token['id']}")
    assert response.status_code == 200, response.text
    return response.json()["verification_status"]


class Customer:
    """A customer's browser on the authentication page: its own cookies, no API key."""

    def __init__(self, server: InProcessServer) -> None:
        self.browser = httpx.Client(transport=server.transport, base_url=server.url)

    def __enter__(self) -> Customer:
        return self

    def __exit__(self, *_: object) -> None:
        self.browser.close()

    def visit(self, token: dict[str, Any], **params: str) -> httpx.Response:
        return self.browser.get(token["authentication_url"], params=params)

    def submit(self, token: dict[str, Any], password: str | None = None, cancel: bool = False) -> httpx.Response:
        page = self.visit(token)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="authenticity_token" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        form = {"authenticity_token": csrf.group(1), "action": "cancel" if cancel else "authenticate"}
        if password is not None:
            form["password"] = password
        return self.browser.post(token["authentication_url"], data=form)


def back_to_merchant(response: httpx.Response, token: dict[str, Any]) -> None:
    """The customer was sent to the return_url, its own query kept, secure_token_id added."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{RETURN_URL}&secure_token_id={token['id']}"


def verified(server: InProcessServer, client: httpx.Client, **fields: Any) -> dict[str, Any]:
    token = made(client, **fields)
    with Customer(server) as customer:
        back_to_merchant(customer.submit(token, PASSING_PASSWORD), token)
    return token


# -- making one -------------------------------------------------------------------------------


def test_a_secure_token_answers_as_komoju_and_waits_for_the_customer(server, api):
    token = made(api)
    assert token == {
        "id": TOKEN_ID,
        "secure_token": token["id"],
        "verification_status": "NEEDS_VERIFY",
        "authentication_url": f"{server.url}/three_d_secure/{token['id']}",
        "created_at": TIME,
    }
    shown = api.get(f"/secure_tokens/{token['id']}")
    assert shown.status_code == 200
    assert shown.json() == {k: v for k, v in token.items() if k != "secure_token"}


@pytest.mark.parametrize("number", FRICTIONLESS_PASS + CHALLENGE_PASS + FRICTIONLESS_FAIL + CHALLENGE_FAIL)
def test_every_3d_secure_test_card_needs_verifying(api, number):
    assert made(api, number)["verification_status"] == "NEEDS_VERIFY"


@pytest.mark.parametrize("number", ["4111111111111111", "5555555555554444", "4123111111111059"])
def test_a_card_outside_the_3d_secure_catalogue_is_skipped(api, number):
    assert made(api, number)["verification_status"] == "SKIPPED"


def test_the_documents_form_encoded_request_and_the_publishable_key(server):
    # KOMOJU's own curl example, as a form, with the key a customer's device holds.
    form = (
        "amount=1000&currency=JPY&return_url=https%3A%2F%2Fexample.com%2Fcomplete"
        "&payment_details[type]=credit_card&payment_details[email]=test%40example.com"
        "&payment_details[number]=4100000000000100&payment_details[month]=08&payment_details[year]=2030"
        "&payment_details[verification_value]=123&payment_details[name]=Test%20Card"
    )
    with server.client(server.publishable_key) as public:
        response = public.post(
            "/secure_tokens", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 200, response.text
        token = response.json()
        assert token["verification_status"] == "NEEDS_VERIFY"
        assert public.get(f"/secure_tokens/{token['id']}").json()["id"] == token["id"]
        # The publishable key still cannot pay.
        assert pay(public, token["id"]).status_code == 403


def test_an_apps_own_scheme_is_a_return_url(server, api):
    token = made(api, "4100000000000100", return_url="komoju-sdk-demo://creditCard?amount=1000&currency=JPY")
    with Customer(server) as customer:
        answer = customer.visit(token)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"komoju-sdk-demo://creditCard?amount=1000&currency=JPY&secure_token_id={token['id']}"
    )


def test_nothing_secret_is_echoed(api):
    text = secure_token(api, card("4100000000005000", verification_value="987")).text
    assert "4100000000005000" not in text and "987" not in text and "number" not in text


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"amount": None}, error("missing_parameter", "amount")),
        ({"amount": 0}, error("invalid_parameter", "amount")),
        ({"amount": "12.5"}, error("invalid_parameter", "amount")),
        ({"amount": 10_000_000}, error("invalid_parameter", "amount")),
        ({"currency": None}, error("missing_parameter", "currency")),
        ({"currency": "XYZ"}, error("invalid_currency", "currency")),
        ({"return_url": None}, error("missing_parameter", "return_url")),
        ({"return_url": "not a url"}, error("invalid_parameter", "return_url")),
        ({"return_url": "javascript://alert(1)"}, error("invalid_parameter", "return_url")),
        ({"return_url": "data://text/html,hi"}, error("invalid_parameter", "return_url")),
        ({"return_url": ["https://a.example"]}, error("invalid_parameter", "return_url")),
        ({"payment_details": None}, error("missing_parameter", "payment_details")),
        ({"payment_details": card("4111111111111112")}, error("invalid_parameter", "payment_details[number]")),
        ({"payment_details": card(month=13)}, error("invalid_parameter", "payment_details[month]")),
        ({"payment_details": {"type": "credit_card"}}, error("missing_parameter", "payment_details[number]")),
        (
            {"payment_details": {"type": "konbini", "store": "lawson", "email": "a@example.com"}},
            error(
                "invalid_payment_type",
                "payment_details[type]",
                "Payment method was invalid. konbini is not one of credit_card.",
            ),
        ),
        ({"payment_details": ["credit_card"]}, error("invalid_parameter", "payment_details")),
        ({"payment_details": "tok_" + "0" * 25}, UNKNOWN_TOKEN),
        (
            {"payment_details": card(), "customer": "abc"},
            error("invalid_parameter", "customer", "Give either payment_details or customer, not both"),
        ),
        ({"payment_details": None, "customer": "nobody"}, error("invalid_parameter", "customer")),
    ],
)
def test_bad_requests_are_refused_and_make_nothing(api, fields, expected):
    body = {"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, "payment_details": card(), **fields}
    response = api.post("/secure_tokens", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 422
    assert response.json() == expected


def test_live_mode_makes_no_secure_token(server, merchant):
    with server.client(merchant["live_secret_key"]) as live:
        response = secure_token(live, card("4100000000005000"))
    assert response.status_code == 403
    assert response.json() == error("forbidden", message=LIVE_REFUSAL)


def test_only_its_merchant_and_mode_see_it(server, api, merchant, merchant_api):
    token = made(api)
    assert merchant_api.get(f"/secure_tokens/{token['id']}").json() == error("not_found")
    with server.client(merchant["live_secret_key"]) as live:
        assert live.get(f"/secure_tokens/{token['id']}").status_code == 404
    for path in ("tok_" + "0" * 25, "tok_UPPER", "nothing", token["id"] + "x"):
        response = api.get(f"/secure_tokens/{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_a_token_becomes_a_secure_token_once(api):
    tok = api.post("/tokens", json={"payment_details": card("4100000000005000", verification_value="123")}).json()
    response = secure_token(api, tok["id"])
    assert response.status_code == 200, response.text
    assert response.json()["verification_status"] == "NEEDS_VERIFY"
    assert secure_token(api, tok["id"]).json() == UNKNOWN_TOKEN
    assert pay(api, tok["id"]).json() == UNKNOWN_TOKEN


def test_a_customers_card_makes_a_secure_token_and_the_payment_is_the_customers(server, api):
    customer = api.post("/customers", json={"payment_details": card("4100000000005000")}).json()
    response = api.post(
        "/secure_tokens",
        json={"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, "customer": customer["id"]},
    )
    assert response.status_code == 200, response.text
    token = response.json()
    with Customer(server) as browser:
        back_to_merchant(browser.submit(token, PASSING_PASSWORD), token)
    payment = pay(api, token["id"]).json()
    assert (payment["status"], payment["customer"]) == ("captured", customer["id"])
    assert payment["payment_details"]["last_four_digits"] == "5000"


def test_a_customers_scenario_fails_its_secure_tokens_payment(api):
    customer = api.post(
        "/customers", json={"payment_details": card()}, headers={"Komoju-Scenario": "insufficient_funds"}
    ).json()
    body = {"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, "customer": customer["id"]}
    token = api.post("/secure_tokens", json=body).json()
    assert token["verification_status"] == "SKIPPED"
    response = pay(api, token["id"])
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "insufficient_funds"


def test_a_customer_without_a_card_cannot(api):
    konbini = {"type": "konbini", "store": "lawson", "email": "a@example.com"}
    customer = api.post("/customers", json={"payment_details": konbini}).json()
    response = api.post(
        "/secure_tokens",
        json={"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, "customer": customer["id"]},
    )
    assert response.json() == error("invalid_parameter", "customer")


def test_an_idempotent_create_is_replayed(api):
    headers = {"X-KOMOJU-IDEMPOTENCY": f"secure-{uuid.uuid4()}"}
    body = {"amount": 1000, "currency": "JPY", "return_url": RETURN_URL, "payment_details": card("4100000000005000")}
    first = api.post("/secure_tokens", json=body, headers=headers)
    again = api.post("/secure_tokens", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_browser_may_make_and_read_them(server):
    origin = {"Origin": "https://shop.example"}
    with server.client(None) as anonymous:
        for path, method in (("/secure_tokens", "POST"), ("/secure_tokens/tok_" + "a" * 25, "GET")):
            preflight = anonymous.options(
                path,
                headers={
                    **origin,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization",
                },
            )
            assert preflight.status_code == 204, path
            assert preflight.headers["access-control-allow-methods"] == method
    with server.client(server.publishable_key, headers=origin) as public:
        response = secure_token(public, card("4100000000005000"))
        assert response.headers["access-control-allow-origin"] == "*"


# -- the authentication page, as a customer's browser speaks it ---------------------------------


@pytest.mark.parametrize("number", FRICTIONLESS_PASS)
def test_a_frictionless_card_goes_straight_back_verified(server, api, number):
    token = made(api, number)
    with Customer(server) as customer:
        back_to_merchant(customer.visit(token), token)
        assert status(api, token) == "OK"
        back_to_merchant(customer.visit(token), token)  # a second visit changes nothing
    assert status(api, token) == "OK"


@pytest.mark.parametrize("number", FRICTIONLESS_FAIL)
def test_a_failing_frictionless_card_goes_straight_back_failed(server, api, number):
    token = made(api, number)
    with Customer(server) as customer:
        back_to_merchant(customer.visit(token), token)
    assert status(api, token) == "ERRORED"
    assert pay(api, token["id"]).json() == invalid_token(FAILED)


@pytest.mark.parametrize(("number", "brand"), list(zip(CHALLENGE_PASS, BRANDS, strict=True)))
def test_a_challenge_passes_with_its_password(server, api, number, brand):
    token = made(api, number)
    with Customer(server) as customer:
        page = customer.visit(token)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert f"•••• {number[-4:]}" in page.text and "¥1,000" in page.text
        assert number not in page.text
        assert status(api, token) == "NEEDS_VERIFY"  # showing the challenge decides nothing
        back_to_merchant(customer.submit(token, PASSING_PASSWORD), token)
    assert status(api, token) == "OK"
    payment = pay(api, token["id"])
    assert payment.status_code == 200, payment.text
    assert payment.json()["status"] == "captured"
    assert payment.json()["payment_details"] == {
        "type": "credit_card",
        "email": None,
        "brand": brand,
        "last_four_digits": number[-4:],
        "month": 1,
        "year": 2030,
    }


@pytest.mark.parametrize("password", [FAILING_PASSWORD, "000000", "", "1234567"])
def test_a_passing_card_fails_with_another_password(server, api, password):
    token = made(api, "4100000000005000")
    with Customer(server) as customer:
        back_to_merchant(customer.submit(token, password), token)
    assert status(api, token) == "ERRORED"


@pytest.mark.parametrize("number", CHALLENGE_FAIL)
@pytest.mark.parametrize("password", [FAILING_PASSWORD, PASSING_PASSWORD])
def test_a_failing_challenge_card_fails_whatever_is_typed(server, api, number, password):
    token = made(api, number)
    with Customer(server) as customer:
        back_to_merchant(customer.submit(token, password), token)
    assert status(api, token) == "ERRORED"
    assert pay(api, token["id"]).json() == invalid_token(FAILED)


def test_cancelling_the_challenge_fails_the_token(server, api):
    token = made(api)
    with Customer(server) as customer:
        back_to_merchant(customer.submit(token, cancel=True), token)
        back_to_merchant(customer.visit(token), token)  # decided: the page only sends it back
    assert status(api, token) == "ERRORED"


def test_a_decided_challenge_is_not_answered_again(server, api):
    token = made(api)
    with Customer(server) as customer:
        page = customer.visit(token)
        csrf = re.search(r'name="authenticity_token" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        form = {"authenticity_token": csrf.group(1), "action": "authenticate"}
        back_to_merchant(customer.browser.post(token["authentication_url"], data={**form, "password": "000000"}), token)
        # The same form sent again with the right password changes nothing: it failed.
        back_to_merchant(
            customer.browser.post(token["authentication_url"], data={**form, "password": PASSING_PASSWORD}), token
        )
    assert status(api, token) == "ERRORED"


def test_the_form_needs_its_csrf_token(server, api):
    token = made(api)
    with Customer(server) as customer:
        customer.visit(token)
        forged = customer.browser.post(token["authentication_url"], data={"password": PASSING_PASSWORD})
        assert forged.status_code == 403
        assert forged.headers["content-type"] == "text/html; charset=utf-8"
    assert status(api, token) == "NEEDS_VERIFY"


def test_a_skipped_token_goes_straight_back_unchanged(server, api):
    token = made(api, "4111111111111111")
    with Customer(server) as customer:
        back_to_merchant(customer.visit(token), token)
    assert status(api, token) == "SKIPPED"


@pytest.mark.parametrize("path", ["tok_" + "0" * 25, "tok_UPPER", "tok_", "nothing"])
def test_an_unknown_token_is_a_404_page(server, path):
    with httpx.Client(transport=server.transport, base_url=server.url) as browser:
        for response in (browser.get(f"/three_d_secure/{path}"), browser.post(f"/three_d_secure/{path}")):
            assert response.status_code in (403, 404)  # a POST without its form's token is refused first
            assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert browser.get(f"/three_d_secure/{path}").status_code == 404


@pytest.mark.parametrize(
    ("params", "headers", "words"),
    [
        ({}, {"Accept-Language": "ko-KR,ko;q=0.9"}, ("본인 인증 (3D 보안)", "인증하기", "테스트 모드: 123456")),
        (
            {"locale": "en"},
            {"Accept-Language": "ko"},
            ("3-D Secure authentication", "Authenticate", "test mode: 123456"),
        ),
        ({}, {}, ("本人認証（3Dセキュア）", "認証する", "テストモード：123456")),
    ],
)
def test_the_page_speaks_the_customers_language(server, api, params, headers, words):
    token = made(api)
    with httpx.Client(transport=server.transport, base_url=server.url, headers=headers) as browser:
        page = browser.get(token["authentication_url"], params=params)
    assert page.status_code == 200
    for word in words:
        assert word in page.text


# -- paying -----------------------------------------------------------------------------------


def test_a_token_not_yet_verified_does_not_pay(api):
    token = made(api)
    assert pay(api, token["id"]).json() == invalid_token(NOT_VERIFIED)
    assert status(api, token) == "NEEDS_VERIFY"


def test_a_verified_token_pays_once(server, api):
    token = verified(server, api)
    first = pay(api, token["id"])
    assert first.status_code == 200, first.text
    again = pay(api, token["id"])
    assert again.status_code == 422
    assert again.json() == invalid_token(USED)
    assert status(api, token) == "OK"


def test_a_skipped_token_pays_at_once(api):
    token = made(api, "4111111111111111")
    payment = pay(api, token["id"], capture=False)
    assert payment.status_code == 200, payment.text
    assert payment.json()["status"] == "authorized"
    assert pay(api, token["id"]).json() == invalid_token(USED)


@pytest.mark.parametrize(("amount", "currency"), [(999, "JPY"), (1001, "JPY"), (1000, "USD")])
def test_a_token_pays_only_its_amount_and_currency(server, api, amount, currency):
    token = verified(server, api)
    response = pay(api, token["id"], amount, currency)
    assert response.status_code == 422
    assert response.json() == invalid_token(OTHER_PAYMENT)
    assert pay(api, token["id"]).status_code == 200  # the refusal did not use it


def test_a_declined_payment_leaves_the_token_usable(api):
    token = made(api, "4123111111111059")  # skipped by 3-D Secure, declined by the card network
    for _ in range(2):
        response = pay(api, token["id"])
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "card_declined"


def test_another_merchants_secure_token_is_unknown(server, api, merchant_api):
    token = made(merchant_api, "4111111111111111")
    assert pay(api, token["id"]).json() == UNKNOWN_TOKEN
    assert pay(merchant_api, token["id"]).status_code == 200


def test_racing_payments_with_one_token_make_one_payment(server, api):
    token = verified(server, api)
    answers: list[int] = []

    def attempt() -> None:
        with server.client(server.secret_key) as client:
            answers.append(pay(client, token["id"]).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [422] * 5


# -- a day on the merchant's clock ------------------------------------------------------------


def advance(client: httpx.Client, seconds: int) -> None:
    response = client.post("/sandbox/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def test_a_secure_token_lasts_a_day_of_the_merchants_clock(server, merchant_api):
    paid_in_time = made(merchant_api, "4111111111111111")
    late = made(merchant_api, "4111111111111111")
    unvisited = made(merchant_api, "4100000000000100")
    advance(merchant_api, DAY - 60)
    assert pay(merchant_api, paid_in_time["id"]).status_code == 200
    advance(merchant_api, 60)
    assert pay(merchant_api, late["id"]).json() == UNKNOWN_TOKEN
    assert merchant_api.get(f"/secure_tokens/{late['id']}").json() == error("not_found")
    with Customer(server) as customer:
        assert customer.visit(unvisited).status_code == 404


def test_a_sandbox_reset_erases_secure_tokens(merchant_api):
    token = made(merchant_api)
    erased = merchant_api.post("/sandbox/reset").json()["erased"]
    assert erased["secure_tokens"] == 1
    assert merchant_api.get(f"/secure_tokens/{token['id']}").status_code == 404


def test_the_return_url_gets_the_token_id_added_to_its_query(server, api):
    plain = made(api, "4100000000000100", return_url="https://shop.example/done#top")
    with Customer(server) as customer:
        answer = customer.visit(plain)
    location = answer.headers["location"]
    assert location == f"https://shop.example/done?secure_token_id={plain['id']}#top"
    assert parse_qs(urlsplit(location).query) == {"secure_token_id": [plain["id"]]}
