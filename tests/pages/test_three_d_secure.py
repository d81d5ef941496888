"""The 3-D Secure authentication page in Chromium, as a customer goes through it.

The merchant makes a secure token over the API; the customer opens its authentication_url,
authenticates (or not), and lands back on the merchant's own return page (a tiny HTTP server of
the test's own on 127.0.0.1, another origin) with `secure_token_id` in its query. The merchant
then reads the token's status with GET /secure_tokens/:id and pays with it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support import ServerProcess

PASSING_PASSWORD = "123456"
FAILING_PASSWORD = "111111"
CARD = {"month": 12, "year": 2030, "verification_value": "123", "name": "Test Card"}


class Shop:
    """The merchant's return page: it says thank you and keeps the queries it was visited with."""

    def __init__(self) -> None:
        self.visits: list[dict[str, list[str]]] = []
        shop = self
        body = b"<!doctype html><html lang='en'><title>Thank you</title><h1>Thank you</h1></html>"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                url = urlsplit(self.path)
                if url.path != "/favicon.ico":  # what a browser asks of any site by itself
                    shop.visits.append(parse_qs(url.query))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    made = Shop()
    yield made
    made.close()


def secure_token(site_api: httpx.Client, shop: Shop, number: str, amount: int = 1500) -> dict[str, Any]:
    response = site_api.post(
        "/secure_tokens",
        json={
            "amount": amount,
            "currency": "JPY",
            "return_url": f"{shop.url}/orders/42/complete?from=3ds",
            "payment_details": {"type": "credit_card", "number": number, **CARD},
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["verification_status"] == "NEEDS_VERIFY"
    return token


def landed_back(page: Any, shop: Shop, token: dict[str, Any]) -> None:
    """The browser is on the merchant's return page, which got the token's id."""
    page.wait_for_url(f"{shop.url}/orders/42/complete?**")
    assert page.url == f"{shop.url}/orders/42/complete?from=3ds&secure_token_id={token['id']}"
    assert page.locator("h1").inner_text() == "Thank you"
    assert shop.visits[-1] == {"from": ["3ds"], "secure_token_id": [token["id"]]}


def verification_status(site_api: httpx.Client, token: dict[str, Any]) -> str:
    return site_api.get(f"/secure_tokens/{token['id']}").json()["verification_status"]


def pay(site_api: httpx.Client, token: dict[str, Any], amount: int = 1500) -> httpx.Response:
    return site_api.post("/payments", json={"amount": amount, "currency": "JPY", "payment_details": token["id"]})


def test_a_challenge_with_the_right_password_verifies_and_the_token_pays(
    site: ServerProcess, site_api: httpx.Client, shop: Shop, page: Any
) -> None:
    token = secure_token(site_api, shop, "4100000000005000")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(token["authentication_url"])
    assert page.locator("h1").inner_text() == "3-D Secure authentication"
    assert page.get_by_role("status").inner_text() == "Test mode"
    facts = page.locator("dl.facts")
    assert facts.locator("dd").all_inner_texts() == ["default", "¥1,500", "•••• 5000"]
    password = page.get_by_label("Password")
    assert "test mode: 123456 authenticates, 111111 fails" in page.locator("label[for=password]").inner_text()
    assert password.get_attribute("type") == "password"
    assert verification_status(site_api, token) == "NEEDS_VERIFY"

    password.fill(PASSING_PASSWORD)
    page.get_by_role("button", name="Authenticate").click()
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "OK"
    # Our page fetched nothing from elsewhere; the only other origin is the merchant's return page.
    assert all(url.startswith((site.url + "/", shop.url + "/")) for url in requested)

    payment = pay(site_api, token)
    assert payment.status_code == 200, payment.text
    assert (payment.json()["status"], payment.json()["amount"]) == ("captured", 1500)
    assert payment.json()["payment_details"]["last_four_digits"] == "5000"
    assert site_api.get(f"/payments/{payment.json()['id']}").json()["status"] == "captured"


def test_a_challenge_with_the_failing_password_fails_and_cannot_pay(
    site_api: httpx.Client, shop: Shop, page: Any
) -> None:
    token = secure_token(site_api, shop, "5100000000300002")
    page.goto(token["authentication_url"])
    page.get_by_label("Password").fill(FAILING_PASSWORD)
    page.get_by_role("button", name="Authenticate").click()
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "ERRORED"
    refused = pay(site_api, token)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_token"


def test_cancelling_the_challenge_goes_back_failed(site_api: httpx.Client, shop: Shop, page: Any) -> None:
    token = secure_token(site_api, shop, "3528000000005006")
    page.goto(token["authentication_url"])
    page.get_by_role("button", name="Cancel").click()  # no password needed to give up
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "ERRORED"


def test_a_frictionless_card_goes_straight_back_verified_and_pays(
    site_api: httpx.Client, shop: Shop, page: Any
) -> None:
    token = secure_token(site_api, shop, "3528000000000106", amount=2200)
    page.goto(token["authentication_url"])
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "OK"
    payment = pay(site_api, token, amount=2200)
    assert payment.status_code == 200, payment.text
    assert payment.json()["status"] == "captured"


def test_a_failing_frictionless_card_goes_straight_back_failed(site_api: httpx.Client, shop: Shop, page: Any) -> None:
    token = secure_token(site_api, shop, "4100000000500000")
    page.goto(token["authentication_url"])
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "ERRORED"
    assert pay(site_api, token).status_code == 422


def test_the_page_speaks_japanese_and_korean(site_api: httpx.Client, shop: Shop, browser_context: Any) -> None:
    token = secure_token(site_api, shop, "5100000000005007")
    page = browser_context(locale="ja-JP").new_page()
    page.goto(token["authentication_url"])
    assert page.locator("h1").inner_text() == "本人認証（3Dセキュア）"
    assert "テストモード：123456 で認証に成功" in page.locator("label[for=password]").inner_text()
    page.get_by_role("link", name="한국어").click()
    assert page.locator("h1").inner_text() == "본인 인증 (3D 보안)"
    assert page.locator("html").get_attribute("lang") == "ko"
    page.get_by_label("비밀번호").fill(PASSING_PASSWORD)
    page.get_by_role("button", name="인증하기").click()
    landed_back(page, shop, token)
    assert verification_status(site_api, token) == "OK"


def test_an_empty_password_is_asked_for_by_the_browser(site_api: httpx.Client, shop: Shop, page: Any) -> None:
    token = secure_token(site_api, shop, "4100000000005000")
    page.goto(token["authentication_url"])
    page.get_by_role("button", name="Authenticate").click()
    # The field is required: the form is not sent, and the token still waits.
    assert page.url == token["authentication_url"]
    assert page.get_by_label("Password").evaluate("field => field.validity.valueMissing") is True
    assert verification_status(site_api, token) == "NEEDS_VERIFY"
