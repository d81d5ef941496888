"""Tokenizing from a merchant's page in Chromium: cross-origin calls with the publishable key.

The merchant's page is served by a tiny HTTP server of the test's own on 127.0.0.1, on another
port than the komoju-server (so another origin). Its script (the merchant's, not ours: our
pages have none) calls the API with `fetch`, as a merchant's checkout would. What the
publishable key may call (POST /tokens) works and its answers, errors included, are readable;
anything else (POST /payments) is stopped by the browser at the preflight and never sent.
"""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.support import ServerProcess

CARD = {"type": "credit_card", "number": "4111111111111111", "month": 1, "year": 2030}
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A merchant's checkout</title></head>
<body>
<h1>Checkout</h1>
<script>
const API = __API__;
const PUBLISHABLE_KEY = __KEY__;

// POST `body` as JSON to the API with `key` (the page's publishable key unless told),
// answering what the page could read of the answer, or that the browser blocked the call.
async function call(path, body, key) {
  try {
    const response = await fetch(API + path, {
      method: "POST",
      headers: {
        "Authorization": "Basic " + btoa((key || PUBLISHABLE_KEY) + ":"),
        "Content-Type": "application/json",
        "X-KOMOJU-IDEMPOTENCY": crypto.randomUUID(),
      },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: await response.json(),
      requestId: response.headers.get("X-Request-Id"),
    };
  } catch (error) {
    return {blocked: error.name + ": " + error.message};
  }
}
</script>
</body>
</html>
"""
BLOCKED = {"blocked": "TypeError: Failed to fetch"}


class MerchantSite:
    """The merchant's own web server: one page, on a port of its own."""

    def __init__(self, api: str, publishable_key: str) -> None:
        page = PAGE.replace("__API__", orjson.dumps(api).decode()).replace(
            "__KEY__", orjson.dumps(publishable_key).decode()
        )
        body = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/checkout"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture(scope="module")
def merchant_site(site: ServerProcess) -> Iterator[MerchantSite]:
    shop = MerchantSite(site.url + "/api/v1", site.publishable_key)
    yield shop
    shop.close()


@pytest.fixture
def checkout(page: Any, merchant_site: MerchantSite, site: ServerProcess) -> Any:
    answer = page.goto(merchant_site.url)
    assert answer.status == 200
    assert page.evaluate("location.origin") != site.url  # another origin than the API's
    return page


def call(page: Any, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return page.evaluate("([path, body, key]) => call(path, body, key)", [path, body, key])


def payments_with_order(site_api: httpx.Client, order: str) -> int:
    return site_api.get("/payments", params={"external_order_num": order}).json()["total"]


def test_the_merchants_page_tokenizes_with_the_publishable_key_and_the_server_pays_with_it(checkout, site_api):
    made = call(checkout, "/tokens", {"payment_details": CARD})
    assert made["status"] == 200, made
    token = made["body"]["id"]
    assert token.startswith("tok_") and len(token) == 29
    assert made["body"]["payment_details"] == {"type": "credit_card", "email": None}  # as the document's
    assert made["requestId"]  # an exposed header the page may read
    paid = site_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": token})
    assert (paid.status_code, paid.json()["status"]) == (200, "captured")


def test_the_page_reads_the_error_envelope_of_a_refused_token(checkout):
    refused = call(checkout, "/tokens", {"payment_details": {"type": "konbini", "email": "buyer@example.com"}})
    assert refused["status"] == 422
    assert refused["body"] == {
        "error": {
            "code": "missing_parameter",
            "message": "A required parameter (payment_details[store]) is missing",
            "param": "payment_details[store]",
        }
    }
    unknown = call(checkout, "/tokens", {"payment_details": CARD}, "pk_test_nobody")
    assert (unknown["status"], unknown["body"]["error"]["code"]) == (401, "unauthorized")


def test_the_same_page_paying_with_the_token_is_blocked_by_the_browser_and_never_reaches_the_server(
    checkout, site, site_api
):
    token = call(checkout, "/tokens", {"payment_details": CARD})["body"]["id"]
    order = "browser-" + secrets.token_hex(6)
    payment = {"amount": 1000, "currency": "JPY", "payment_details": token, "external_order_num": order}
    assert call(checkout, "/payments", payment) == BLOCKED
    # Not even the secret key gets through from a browser: the preflight is refused first.
    assert call(checkout, "/payments", payment, site.secret_key) == BLOCKED
    assert payments_with_order(site_api, order) == 0
    # The token was never used: the merchant's server still pays with it.
    paid = site_api.post("/payments", json=payment)
    assert (paid.status_code, paid.json()["status"]) == (200, "captured")
    assert payments_with_order(site_api, order) == 1
