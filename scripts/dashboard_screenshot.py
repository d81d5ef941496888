"""Photographs the dashboard for the README (run through scripts/dashboard-screenshot)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support import ServerProcess  # noqa: E402
from tests.webhooks.harness import Receiver  # noqa: E402

SECRET_KEY, PUBLISHABLE_KEY = "sk_test_screenshot", "pk_test_screenshot"
CARD = {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2030}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = ServerProcess.start(f"sqlite:///{folder}/komoju.db", SECRET_KEY, PUBLISHABLE_KEY)
        receiver = Receiver()
        try:
            payment_id = make_data(server, receiver)
            photograph(server, payment_id)
        finally:
            receiver.close()
            server.stop()


def make_data(server: ServerProcess, receiver: Receiver) -> str:
    with server.client(SECRET_KEY) as api:
        hook = {"url": receiver.url("/komoju/webhooks", "whsec"), "secret_token": "whsec"}
        assert api.post("/webhooks", json=hook).status_code == 200

        def pay(details: dict, **extra: object) -> dict:
            body = {"amount": 1000, "currency": "JPY", "payment_details": details, **extra}
            answer = api.post("/payments", json=body)
            assert answer.status_code in (200, 202), answer.text
            return answer.json()

        konbini = {"type": "konbini", "store": "lawson", "email": "hanako@example.com"}
        paid = pay(konbini, amount=3200, external_order_num="order-1001", description="Tea set")
        api.post(f"/sandbox/payments/{paid['id']}/complete")
        pay(konbini, amount=5400, external_order_num="order-1002", description="Teapot")
        pay(CARD, amount=12000, capture=False, external_order_num="order-1003", description="Kettle")
        failed = pay({"type": "merpay"}, amount=800, external_order_num="order-1004", description="Matcha")
        api.post(f"/sandbox/payments/{failed['id']}/fail")
        shown = pay(CARD, amount=4500, external_order_num="order-1005", description="Two tea cups")
        api.post(f"/payments/{shown['id']}/refund", json={"amount": 1500, "description": "One cup arrived broken"})
        receiver.wait_for(lambda got: len(got) >= 8)
        time.sleep(1.5)  # the worker records the last answers
        return str(shown["id"])


def photograph(server: ServerProcess, payment_id: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-US", device_scale_factor=1)
        page.goto(server.url + "/dashboard")
        page.locator("#secret_key").fill(SECRET_KEY)
        page.locator("form[action='/dashboard/sign_in'] button").click()
        page.wait_for_url(server.url + "/dashboard/payments")
        page.screenshot(path=str(ROOT / "docs" / "dashboard.png"))
        page.goto(f"{server.url}/dashboard/payments/{payment_id}")
        page.locator("li.moment details.sent").first.evaluate("d => d.open = true")
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.locator("#timeline-title").scroll_into_view_if_needed()
        page.screenshot(path=str(ROOT / "docs" / "dashboard-payment.png"), full_page=True)
        browser.close()
    print("wrote docs/dashboard.png and docs/dashboard-payment.png")


if __name__ == "__main__":
    main()
