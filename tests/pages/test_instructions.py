"""The instructions page in Chromium, as a customer uses it: a konbini, bank transfer or Pay-easy
payment made through the API, its instructions_url, the numbers and steps, and, in test mode,
"simulate payment" capturing it with its webhook. (tests/pages/test_payment_pages.py covers
the same page without a browser, on both databases.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.pages.conftest import Hooks
from tests.support import ServerProcess

NAMES = {
    "email": "taro@example.jp",
    "given_name": "太郎",
    "family_name": "山田",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "090-1234-5678",
}


def pay(site_api: httpx.Client, details: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answer = site_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": details, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_konbini_payment_is_paid_from_its_instructions_page(
    site: ServerProcess, site_api: httpx.Client, hooks: Hooks, page: Any
) -> None:
    payment = pay(
        site_api,
        {"type": "konbini", "store": "lawson", "email": "taro@example.jp", "phone": "090-1234-5678"},
        locale="en",
        external_order_num="order-1001",
        return_url="https://shop.example/orders/1001",
    )
    details = payment["payment_details"]
    assert details["instructions_url"] == f"{site.url}/instructions/{payment['id']}"
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    answer = page.goto(details["instructions_url"])
    assert answer.status == 200
    assert page.locator("h1").inner_text() == "Pay at a convenience store"
    assert page.locator("#payment-status strong").inner_text() == "Awaiting payment"
    assert page.locator("#store").inner_text() == "Lawson"
    assert page.locator("#receipt").inner_text() == details["receipt"]
    assert page.locator("#confirmation-code").inner_text() == "5678"  # the phone's last digits
    assert page.locator("#amount").inner_text() == "¥1,100"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 23:59 \(JST\)", page.locator("#deadline").inner_text())
    assert page.locator("#order-number").inner_text() == "order-1001"
    steps = page.locator("#steps li").all_inner_texts()
    assert len(steps) == 6 and f"Enter the reception number {details['receipt']}" in steps[1]
    assert page.get_by_role("link", name="Back to the shop").get_attribute("href") == "https://shop.example/orders/1001"

    simulate = page.locator("section.simulate")
    assert simulate.locator("h2").inner_text() == "Simulate the payment (test mode)"
    simulate.get_by_role("button", name="Simulate payment").click()
    page.wait_for_load_state()
    assert page.url == details["instructions_url"]
    assert page.locator("#payment-status").inner_text().split("\n") == [
        "Paid",
        "This payment has been made. Thank you.",
    ]
    assert page.locator("section.simulate").count() == 0
    assert page.locator("#receipt").count() == 0  # no longer asking for payment

    shown = site_api.get(f"/payments/{payment['id']}").json()
    assert shown["status"] == "captured" and shown["captured_at"] is not None
    event = hooks.wait_event("payment.captured", payment["id"])
    assert event["data"]["status"] == "captured"
    assert all(url.startswith(site.url + "/") for url in requested)  # nothing from elsewhere


def test_the_bank_transfer_page_shows_the_account_and_the_order_number(site_api: httpx.Client, page: Any) -> None:
    payment = pay(site_api, {"type": "bank_transfer", **NAMES}, locale="en")
    details = payment["payment_details"]
    page.goto(details["instructions_url"])
    assert page.locator("h1").inner_text() == "Pay by bank transfer"
    assert page.locator("#bank-name").inner_text() == "三井住友銀行"
    assert page.locator("#branch").inner_text() == details["account_branch_name"]
    assert page.locator("#account-type").inner_text() == "普通預金"
    assert page.locator("#account-number").inner_text() == details["account_number"]
    assert page.locator("#account-name").inner_text() == "株式会社DEGICA(カブシキガイシャ デジカ)"
    assert page.locator("#remitter-name").inner_text() == details["order_id"]
    assert re.fullmatch(r"K\d{10}", details["order_id"])
    assert details["order_id"] in page.locator("#steps").inner_text()


def test_the_pay_easy_page_shows_its_three_numbers(site_api: httpx.Client, page: Any) -> None:
    payment = pay(site_api, {"type": "pay_easy", **NAMES}, locale="en")
    details = payment["payment_details"]
    page.goto(details["instructions_url"])
    assert page.locator("h1").inner_text() == "Pay with Pay-easy"
    assert page.locator("#bank-id").inner_text() == details["bank_id"] == "58191"
    assert page.locator("#customer-id").inner_text() == details["customer_id"]
    assert page.locator("#confirmation-id").inner_text() == details["confirmation_id"]
    assert page.locator("#atm-steps li").count() == 5
    assert details["customer_id"] in page.locator("#online-steps").inner_text()


def test_japanese_and_korean_render_and_the_choice_survives_paying(
    site_api: httpx.Client, browser_context: Callable[..., Any]
) -> None:
    payment = pay(
        site_api,
        {"type": "konbini", "store": "family-mart", "email": "taro@example.jp"},
        locale="ja",
    )
    page = browser_context(locale="en-US").new_page()  # the payment's locale wins over the browser's
    page.goto(payment["payment_details"]["instructions_url"])
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "コンビニでのお支払い"
    assert page.locator("#store").inner_text() == "ファミリーマート"
    assert "第2番号（注文番号）" in page.locator("dl.facts").nth(1).inner_text()
    page.get_by_role("link", name="한국어").click()
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "편의점 결제 안내"
    assert page.locator("#store").inner_text() == "패밀리마트"
    page.get_by_role("button", name="결제 완료로 처리").click()
    page.wait_for_load_state()
    assert page.url.endswith("?locale=ko")
    assert page.locator("#payment-status strong").inner_text() == "결제 완료"


def test_the_page_fits_a_phone(site_api: httpx.Client, browser_context: Callable[..., Any]) -> None:
    payment = pay(site_api, {"type": "bank_transfer", **NAMES}, locale="ja")
    page = browser_context(viewport={"width": 320, "height": 640}, is_mobile=True).new_page()
    page.goto(payment["payment_details"]["instructions_url"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 320  # nothing to scroll sideways
    button = page.get_by_role("button", name="支払い済みにする")
    assert button.bounding_box()["height"] >= 40  # a finger can press it


def test_an_unknown_payment_is_the_404_page(site: ServerProcess, browser_context: Callable[..., Any]) -> None:
    page = browser_context(locale="ko-KR").new_page()
    answer = page.goto(f"{site.url}/instructions/{'0' * 25}")
    assert answer.status == 404
    assert page.get_by_role("alert").inner_text() == "이 페이지를 찾을 수 없습니다."
