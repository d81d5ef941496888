"""Makes the README's pictures of the customer's pages: `.venv/bin/python docs/screenshots.py`.

Starts a server on a temporary database, makes a session and a konbini payment through the
API, and photographs the pages in headless Chromium (as the tests drive it) into docs/.
Japanese text needs a CJK font on the machine (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [sys.executable, "-m", "komoju_server", "serve", "--port", "0"]
            + ["--database-url", f"sqlite:///{folder}/shots.db", "--secret-key", "sk_test_shots"]
            + ["--publishable-key", "pk_test_shots"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip().removeprefix("listening on ")
            shoot(base)
        finally:
            server.terminate()
            server.wait()


def shoot(base: str) -> None:
    api = httpx.Client(base_url=base + "/api/v1", auth=("sk_test_shots", ""), timeout=30)
    session = api.post(
        "/sessions",
        json={
            "amount": 4980,
            "currency": "JPY",
            "return_url": "https://shop.example/orders/1001",
            "default_locale": "ja",
            "email": "taro@example.jp",
            "payment_types": ["credit_card", "konbini", "bank_transfer", "pay_easy", "line_pay"],
            "payment_data": {"external_order_num": "order-1001"},
        },
    ).json()
    slip = api.post(
        "/payments",
        json={
            "amount": 4980,
            "currency": "JPY",
            "external_order_num": "order-1002",
            "locale": "ja",
            "payment_details": {
                "type": "konbini",
                "store": "lawson",
                "email": "taro@example.jp",
                "phone": "09012345678",
            },
        },
    ).json()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 560, "height": 900}, locale="ja-JP")
        page.goto(session["session_url"])
        page.screenshot(path=str(HERE / "hosted-page.png"), full_page=True)
        page.goto(slip["payment_details"]["instructions_url"])
        page.screenshot(path=str(HERE / "instructions-konbini.png"), full_page=True)
        browser.close()
    print("docs/hosted-page.png, docs/instructions-konbini.png")


if __name__ == "__main__":
    main()
