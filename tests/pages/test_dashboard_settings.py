"""The dashboard's sandbox, webhooks and signing out, in Chromium: the clock advanced and the
test data erased, each only once confirmed; a webhook endpoint added, pinged, changed and
removed; and after signing out, the dashboard refusing. Each result is checked through the API
(or the receiver). A merchant of this module's own, made by the real CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.payment_support import card, konbini
from tests.pages.dashboard_support import sign_in
from tests.support import ServerProcess, new_merchant
from tests.webhooks.harness import Receiver

PATH, SECRET = "/settings-hooks", "settings-secret"


@pytest.fixture(scope="module")
def shop(site: ServerProcess) -> dict[str, str]:
    return new_merchant(site.database_url)


@pytest.fixture
def shop_api(site: ServerProcess, shop: dict[str, str]) -> Iterator[httpx.Client]:
    with site.client(shop["test_secret_key"]) as client:
        yield client


@pytest.fixture
def dashboard(page: Any, site: ServerProcess, shop: dict[str, str]) -> Any:
    sign_in(page, site.url, shop["test_secret_key"])
    return page


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    yield box
    box.close()


def notice(page: Any) -> str:
    return page.locator("p.notice").inner_text()


def test_the_clock_moves_only_once_confirmed_and_what_falls_due_happens(dashboard, site, shop_api):
    slip = shop_api.post(
        "/payments",
        json={"amount": 1000, "currency": "JPY", "payment_details": konbini(expiry_days=1)},
    ).json()
    assert slip["status"] == "authorized", slip
    dashboard.get_by_role("link", name="Sandbox").click()
    assert dashboard.get_by_role("region", name="The test clock").locator("dd").last.inner_text() == "0 s"
    dashboard.get_by_label("Advance by").fill("3")
    dashboard.get_by_label("Unit").select_option("days")
    dashboard.get_by_role("button", name="Advance the clock").click()
    question = dashboard.get_by_role("alertdialog", name="Please confirm")
    assert "Advance the test clock by 3 day(s)?" in question.inner_text()
    assert shop_api.get("/sandbox/clock").json()["offset"] == 0  # asked, not done
    question.get_by_role("button", name="Advance the clock").click()
    assert notice(dashboard) == "The clock moved forward."
    assert shop_api.get("/sandbox/clock").json()["offset"] == 3 * 86_400
    assert shop_api.get(f"/payments/{slip['id']}").json()["status"] == "expired"
    assert dashboard.get_by_role("region", name="The test clock").locator("dd").last.inner_text() == "259200 s"


def test_reset_erases_the_test_data_only_once_confirmed(dashboard, site, shop_api):
    shop_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": card()})
    dashboard.goto(site.url + "/dashboard/sandbox")
    dashboard.get_by_role("region", name="Reset the test data").get_by_role("button").click()
    question = dashboard.get_by_role("alertdialog", name="Please confirm")
    assert "Erase all the test-mode data? This cannot be undone." in question.inner_text()
    question.get_by_role("link", name="Cancel").click()  # changed one's mind
    assert dashboard.url == site.url + "/dashboard/sandbox"
    assert shop_api.get("/payments").json()["total"] >= 1

    dashboard.get_by_role("region", name="Reset the test data").get_by_role("button").click()
    dashboard.get_by_role("alertdialog").get_by_role("button", name="Reset the test data").click()
    assert notice(dashboard) == "The test data was erased."
    assert shop_api.get("/payments").json()["total"] == 0
    assert shop_api.get("/sandbox/clock").json()["offset"] == 0
    dashboard.get_by_role("link", name="Payments").click()
    assert dashboard.get_by_text("No payments.").is_visible()


def test_add_a_webhook_endpoint_ping_change_and_remove_it(dashboard, site, shop_api, receiver):
    url = receiver.url(PATH, SECRET)
    dashboard.get_by_role("link", name="Webhooks").click()
    dashboard.get_by_label("url").fill(url)
    dashboard.get_by_label("secret_token").fill(SECRET)
    dashboard.get_by_role("button", name="Add").click()
    assert notice(dashboard) == "Webhook endpoint added; a ping is on its way."
    webhook_id = re.search(r"/dashboard/webhooks/([a-z0-9]+)", dashboard.url).group(1)
    assert shop_api.get(f"/webhooks/{webhook_id}").json()["url"] == url
    receiver.wait_events(PATH, ["ping"])

    dashboard.get_by_role("button", name="Send a ping").click()
    assert notice(dashboard) == "Ping sent."

    def two_pings(got: list) -> bool:
        return sum(1 for r in got if r.path == PATH and r.signed and r.event["type"] == "ping") == 2

    receiver.wait_for(two_pings)
    for _ in range(50):  # both attempts recorded
        dashboard.reload()
        if dashboard.locator("tr[data-delivery] .attempt-code").all_inner_texts() == ["200", "200"]:
            break
        dashboard.wait_for_timeout(100)
    assert dashboard.locator("tr[data-delivery] .attempt-code").all_inner_texts() == ["200", "200"]

    dashboard.get_by_label("Only these events").check()
    dashboard.get_by_label("payment.captured").check()
    dashboard.get_by_role("button", name="Save").click()
    assert notice(dashboard) == "Webhook endpoint changed."
    assert shop_api.get(f"/webhooks/{webhook_id}").json()["events"] == ["payment.captured"]
    assert dashboard.get_by_label("payment.captured").is_checked()

    dashboard.get_by_role("button", name="Remove").click()
    dashboard.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    assert notice(dashboard) == "Webhook endpoint removed."
    assert shop_api.get(f"/webhooks/{webhook_id}").status_code == 404


def test_a_refused_endpoint_shows_the_apis_error_and_keeps_the_form(dashboard, site):
    dashboard.goto(site.url + "/dashboard/webhooks")
    dashboard.get_by_label("url").fill("http://127.0.0.1:9/hooks")
    dashboard.get_by_label("secret_token").fill("x" * 300)
    dashboard.get_by_role("button", name="Add").click()
    assert "invalid_parameter" in dashboard.get_by_role("alert").inner_text()
    assert "secret_token" in dashboard.get_by_role("alert").inner_text()
    assert dashboard.get_by_label("url").input_value() == "http://127.0.0.1:9/hooks"
    assert dashboard.get_by_label("secret_token").input_value() == ""  # never shown back


def test_after_signing_out_the_dashboard_refuses(dashboard, site, page):
    dashboard.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site.url + "/dashboard/sign_in?done=signed_out")
    assert notice(page) == "You have signed out."
    assert not [c for c in page.context.cookies() if c["name"] == "komoju_dashboard"]
    for path in ("/dashboard/payments", "/dashboard/sandbox", "/dashboard/requests"):
        page.goto(site.url + path)
        assert page.url == site.url + "/dashboard/sign_in", path
    page.go_back()  # a page from before is not shown again from the cache
    assert page.url == site.url + "/dashboard/sign_in"


def test_the_session_cookie_is_httponly_and_strict(dashboard, site):
    (cookie,) = [c for c in dashboard.context.cookies() if c["name"] == "komoju_dashboard"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/dashboard")
    assert dashboard.evaluate("document.cookie") == ""  # no script could read it (nor the CSRF cookie)
