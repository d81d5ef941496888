"""The offsite page in Chromium: a redirect payment made through the API, its redirect_url, and
the customer approving, declining or cancelling there, then landing back on the merchant's
return_url (a tiny shop served on 127.0.0.1) with the payment changed and its webhook sent."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.pages.conftest import Hooks
from tests.support import ServerProcess


class Shop:
    """The merchant's site: answers every GET with a small page and remembers what it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                paths.append(self.path)
                body = b"<!doctype html><title>Shop</title><h1>Back at the shop</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    running = Shop()
    yield running
    running.close()


def pay(site_api: httpx.Client, details: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answer = site_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": details, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("button", "status", "event"),
    [
        ("Approve", "captured", "payment.captured"),
        ("Decline", "failed", "payment.failed"),
        ("Cancel", "cancelled", "payment.cancelled"),
    ],
)
def test_the_customer_decides_and_lands_on_the_return_url(
    site: ServerProcess,
    site_api: httpx.Client,
    hooks: Hooks,
    shop: Shop,
    page: Any,
    button: str,
    status: str,
    event: str,
) -> None:
    back = f"{shop.url}/orders/77?state=back"
    payment = pay(site_api, {"type": "line_pay", "email": "taro@example.jp"}, locale="en", return_url=back)
    redirect_url = payment["payment_details"]["redirect_url"]
    assert redirect_url == f"{site.url}/offsite/{payment['id']}"

    page.goto(redirect_url)
    assert page.locator("#simulation").inner_text() == (
        "This page simulates LINE Pay's site (test mode). No real payment is made."
    )
    assert page.locator("h1").inner_text() == "Pay with LINE Pay"
    assert page.locator("#merchant").inner_text() == "default"  # the site's merchant, made by `serve`
    assert page.locator("#amount").inner_text() == "¥1,100"
    assert page.locator("#method").inner_text() == "LINE Pay"
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(back)
    assert page.locator("h1").inner_text() == "Back at the shop"
    landed = [path for path in shop.paths if path != "/favicon.ico"]
    assert landed[-1] == "/orders/77?state=back"  # the merchant's URL, nothing added

    assert site_api.get(f"/payments/{payment['id']}").json()["status"] == status
    assert hooks.wait_event(event, payment["id"])["data"]["status"] == status

    page.goto(redirect_url)  # back on the provider's page: the result, no more buttons
    assert page.get_by_role("button").count() == 0
    assert page.locator("#payment-status").get_attribute("class") == f"status status-{status}"


def test_without_a_return_url_the_result_shows_on_the_page(
    site_api: httpx.Client, hooks: Hooks, browser_context: Callable[..., Any]
) -> None:
    payment = pay(site_api, {"type": "merpay", "email": "taro@example.jp"}, locale="ko")
    page = browser_context(locale="ja-JP").new_page()
    page.goto(payment["payment_details"]["redirect_url"])
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "메루페이(으)로 결제"
    assert page.locator("#simulation").inner_text().startswith("이 페이지는 메루페이 사이트의 시뮬레이션입니다")
    page.get_by_role("button", name="승인").click()
    page.wait_for_load_state()
    assert page.url == payment["payment_details"]["redirect_url"]
    assert page.locator("#payment-status").inner_text().split("\n") == [
        "결제 완료",
        "결제가 확인되었습니다. 감사합니다.",
    ]
    assert page.get_by_role("link", name="상점으로 돌아가기").count() == 0
    assert hooks.wait_event("payment.captured", payment["id"])["data"]["status"] == "captured"


def test_japanese_renders_and_fits_a_phone(site_api: httpx.Client, browser_context: Callable[..., Any]) -> None:
    payment = pay(site_api, {"type": "japan_mobile", "brand": "docomo"}, locale="ja")
    page = browser_context(viewport={"width": 320, "height": 640}, is_mobile=True).new_page()
    page.goto(payment["payment_details"]["redirect_url"])
    assert page.locator("h1").inner_text() == "キャリア決済でのお支払い"
    assert [page.get_by_role("button", name=name).count() for name in ("承認する", "拒否する", "キャンセル")] == [
        1,
        1,
        1,
    ]
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_from_the_hosted_page_through_the_offsite_page_back_to_the_shop(
    site_api: httpx.Client, hooks: Hooks, shop: Shop, page: Any
) -> None:
    made = site_api.post(
        "/sessions",
        json={"amount": 1000, "currency": "JPY", "return_url": f"{shop.url}/thanks", "default_locale": "en"},
    )
    assert made.status_code == 200, made.text
    session = made.json()
    page.goto(session["session_url"])
    page.get_by_role("link", name="LINE Pay").click()
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(re.compile(r".*/offsite/.*"))
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{shop.url}/thanks?session_id={session['id']}")
    assert page.locator("h1").inner_text() == "Back at the shop"
    payment = site_api.get(f"/sessions/{session['id']}").json()["payment"]
    assert payment["status"] == "captured"
    assert hooks.wait_event("payment.captured", payment["id"])["data"]["session"] == session["id"]
