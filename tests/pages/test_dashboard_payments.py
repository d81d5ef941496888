"""The dashboard's payments in Chromium: signing in, the list and its filters, a payment's
timeline with a webhook attempt and the receiver's answer, and the actions on a payment, each
checked through the API afterwards. Japanese too.

The tests use a merchant of their own on the pages' server (made by the real CLI), so nothing
here depends on what other page tests did to the shared merchant, and the other way round.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.payment_support import card, konbini
from tests.pages.conftest import HOOK_PATH, HOOK_SECRET, Hooks
from tests.pages.dashboard_support import sign_in
from tests.support import ServerProcess, new_merchant
from tests.webhooks.harness import Receiver


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    """A receiver of this module's own: what its webhooks go through (redeliveries, answers
    kept) must not slow the deliveries the other page modules wait for on the shared one."""
    receiver = Receiver()
    yield Hooks(receiver)
    receiver.close()


@pytest.fixture(scope="module")
def shop(site: ServerProcess, hooks: Hooks) -> dict[str, str]:
    """A merchant of this module's own, whose events go to the `hooks` receiver too."""
    keys = new_merchant(site.database_url)
    with site.client(keys["test_secret_key"]) as client:
        answer = client.post(
            "/webhooks", json={"url": hooks.receiver.url(HOOK_PATH, HOOK_SECRET), "secret_token": HOOK_SECRET}
        )
        assert answer.status_code == 200, answer.text
    return keys


@pytest.fixture
def shop_api(site: ServerProcess, shop: dict[str, str]) -> Iterator[httpx.Client]:
    with site.client(shop["test_secret_key"]) as client:
        yield client


@pytest.fixture
def dashboard(page: Any, site: ServerProcess, shop: dict[str, str]) -> Any:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, site.url, shop["test_secret_key"])
    yield page
    assert all(url.startswith(site.url + "/") for url in requested), requested  # nothing from elsewhere


def pay(api: httpx.Client, details: dict, **extra: Any) -> dict:
    answer = api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": details, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(page: Any) -> list[str]:
    return page.locator("table.list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.payment)")


def test_sign_in_then_list_filter_and_page_through_payments(dashboard, site, shop_api):
    order = "order-" + secrets.token_hex(4)
    captured = pay(shop_api, card(), external_order_num=order, description="a book")
    authorized = pay(shop_api, card(), capture=False)
    slip = pay(shop_api, konbini())
    dashboard.goto(site.url + "/dashboard/payments")
    assert listed(dashboard)[:3] == [slip["id"], authorized["id"], captured["id"]]
    row = dashboard.locator(f"tr[data-payment='{captured['id']}']")
    assert row.locator("td").all_inner_texts()[2:] == ["Captured", "¥1,100", "credit_card", order, "a book"]

    dashboard.get_by_label("status").select_option("authorized")
    dashboard.get_by_role("button", name="Filter").click()
    dashboard.wait_for_url(re.compile(r".*status=authorized.*"))
    assert set(listed(dashboard)) >= {authorized["id"], slip["id"]} and captured["id"] not in listed(dashboard)
    assert all(
        s == "authorized"
        for s in dashboard.locator("tbody [data-status]").evaluate_all("badges => badges.map(b => b.dataset.status)")
    )

    dashboard.get_by_label("status").select_option("")
    dashboard.get_by_label("external_order_num").fill(order)
    dashboard.get_by_role("button", name="Filter").click()
    dashboard.wait_for_url(re.compile(rf".*external_order_num={order}.*"))
    assert listed(dashboard) == [captured["id"]]

    dashboard.get_by_label("external_order_num").fill("")
    dashboard.get_by_label("start_time").fill("yesterday")
    dashboard.get_by_role("button", name="Filter").click()
    alert = dashboard.get_by_role("alert")
    assert "A value is not valid." in alert.inner_text() and "start_time" in alert.inner_text()

    dashboard.goto(site.url + "/dashboard/payments?per_page=2")
    assert listed(dashboard) == [slip["id"], authorized["id"]]
    dashboard.get_by_role("link", name="Next").click()
    assert listed(dashboard) == [captured["id"]]
    assert "Page 2 of 2 (3 in all)" in dashboard.locator(".pager").inner_text()


def test_a_payments_timeline_shows_each_webhook_attempt_with_the_receivers_answer(dashboard, site, shop_api, hooks):
    payment = pay(shop_api, card())
    event = hooks.wait_event("payment.captured", payment["id"])
    dashboard.goto(f"{site.url}/dashboard/payments/{payment['id']}")
    moment = dashboard.locator(f"li.moment[data-event='{event['id']}']")
    attempt = moment.locator(".delivery li.attempt").first
    for _ in range(50):  # the receiver may have it before the worker records its answer
        if attempt.locator(".response-code").count():
            break
        dashboard.wait_for_timeout(100)
        dashboard.reload()
    assert moment.locator(".event-type").inner_text() == "payment.captured"
    assert moment.locator(".delivery .url").first.inner_text() == hooks.receiver.url(HOOK_PATH)
    assert moment.locator(".delivery [data-status]").first.inner_text() == "Succeeded"
    assert attempt.locator(".response-code").inner_text() == "HTTP 200"
    assert attempt.locator("pre.answer").inner_text() == "HTTP 200\n\nok"  # what the receiver answered
    attempt.locator("details.sent summary").click()
    sent = attempt.locator("details.sent pre").inner_text()
    assert sent.startswith(f"POST {hooks.receiver.url(HOOK_PATH)}\nContent-Type: application/json\n")
    received = next(r for r in hooks.receiver.received(HOOK_PATH) if r.event["id"] == event["id"])
    assert f"X-Komoju-Signature: {received.headers['x-komoju-signature']}" in sent
    assert f'"id": "{event["id"]}"' in sent

    moment.get_by_role("button", name="Redeliver").click()
    dashboard.wait_for_url(re.compile(r".*done=redeliver$"))
    assert dashboard.get_by_role("status").last.inner_text() == "The event is being sent again."

    def twice(got: list) -> bool:
        return sum(1 for r in got if r.path == HOOK_PATH and r.event["id"] == event["id"]) >= 2

    hooks.receiver.wait_for(twice)
    dashboard.reload()
    assert dashboard.locator(f"li.moment[data-event='{event['id']}'] .delivery").count() == 2


def test_capture_part_refund_part_then_the_rest_from_the_page(dashboard, site, shop_api):
    payment = pay(shop_api, card(), capture=False)
    dashboard.goto(f"{site.url}/dashboard/payments/{payment['id']}")
    dashboard.get_by_label("Amount to capture (before tax)").fill("600")
    dashboard.get_by_role("button", name="Capture").click()
    assert dashboard.get_by_role("status").last.inner_text() == "Captured."
    latest = {"X-KOMOJU-API-VERSION": "2025-01-28"}  # the captured amounts, as the dashboard shows them
    after = shop_api.get(f"/payments/{payment['id']}", headers=latest).json()
    assert (after["status"], after["amount"], after["tax"], after["total"]) == ("captured", 600, 60, 660)

    dashboard.get_by_label("Amount to refund").fill("100")
    dashboard.get_by_label("Description").fill("one item returned")
    dashboard.get_by_role("button", name="Refund").click()
    assert dashboard.get_by_role("status").last.inner_text() == "Refunded."
    after = shop_api.get(f"/payments/{payment['id']}", headers=latest).json()
    assert (after["status"], after["amount_refunded"]) == ("captured", 100)
    assert dashboard.locator("tr.refund").first.locator("td").all_inner_texts()[1:3] == ["¥100", "one item returned"]

    dashboard.get_by_label("Amount to refund").fill("1000")  # more than is left: refused, nothing changes
    dashboard.get_by_role("button", name="Refund").click()
    assert "not_refundable" in dashboard.get_by_role("alert").inner_text()
    assert shop_api.get(f"/payments/{payment['id']}", headers=latest).json()["amount_refunded"] == 100

    dashboard.get_by_label("Amount to refund").fill("")
    dashboard.get_by_role("button", name="Refund").click()
    after = shop_api.get(f"/payments/{payment['id']}", headers=latest).json()
    assert (after["status"], after["amount_refunded"]) == ("refunded", 660)
    assert dashboard.locator("h1 [data-status]").inner_text() == "Refunded"


def test_cancel_an_authorization_from_the_page(dashboard, site, shop_api):
    payment = pay(shop_api, card(), capture=False)
    dashboard.goto(f"{site.url}/dashboard/payments/{payment['id']}")
    dashboard.get_by_role("button", name="Cancel the payment").click()
    assert dashboard.get_by_role("status").last.inner_text() == "Cancelled."
    assert shop_api.get(f"/payments/{payment['id']}").json()["status"] == "cancelled"
    assert dashboard.get_by_role("button", name="Capture").count() == 0


def test_complete_or_fail_a_konbini_slip_from_the_page(dashboard, site, shop_api):
    paid, unpaid = pay(shop_api, konbini()), pay(shop_api, konbini())
    dashboard.goto(f"{site.url}/dashboard/payments/{paid['id']}")
    dashboard.get_by_role("button", name="Complete the payment").click()
    assert dashboard.get_by_role("status").last.inner_text() == "Completed: the customer paid."
    assert shop_api.get(f"/payments/{paid['id']}").json()["status"] == "captured"
    dashboard.goto(f"{site.url}/dashboard/payments/{unpaid['id']}")
    dashboard.get_by_role("button", name="Fail the payment").click()
    assert shop_api.get(f"/payments/{unpaid['id']}").json()["status"] == "failed"
    assert dashboard.locator("h1 [data-status]").inner_text() == "Failed"


def test_the_dashboard_speaks_japanese_and_remembers_a_language_chosen(browser_context, site, shop, shop_api):
    payment = pay(shop_api, konbini(), description="日本語の説明")
    page = browser_context(locale="ja-JP").new_page()
    page.goto(site.url + "/dashboard")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "ダッシュボードにログイン"
    page.get_by_label("シークレットキー").fill(shop["test_secret_key"])
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(site.url + "/dashboard/payments")
    assert page.locator("h1").inner_text() == "決済"
    assert page.get_by_role("navigation", name="ダッシュボードのメニュー").get_by_role("link").all_inner_texts()[
        :3
    ] == [
        "決済",
        "セッション",
        "顧客",
    ]
    page.goto(f"{site.url}/dashboard/payments/{payment['id']}")
    assert page.locator("h1 [data-status]").inner_text() == "オーソリ済み"
    assert page.get_by_role("button", name="支払い完了にする").is_visible()
    assert "日本語の説明" in page.locator("dl.facts").inner_text()
    page.get_by_role("link", name="English").click()
    assert page.locator("h1 [data-status]").inner_text() == "Authorized"
    page.goto(site.url + "/dashboard/payments")  # the choice stays
    assert page.locator("h1").inner_text() == "Payments"
