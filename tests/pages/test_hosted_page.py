"""The hosted payment page (a session's session_url) as a customer uses it, in Chromium: pay by
card, a declined card, konbini, cancel, the ended states, languages; and over plain HTTP, that
every method of the catalogue renders a form and pays through it, and that the form checks
its CSRF token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from komoju_server.methods.catalogue import METHODS
from tests.pages.conftest import Hooks
from tests.support import NO_FIELD_TYPES_BY_CURRENCY, ServerProcess

DECLINED = "4123111111111059"
TOKEN = re.compile(r'name="authenticity_token" value="([0-9a-f]+)"')

# A form each method can be paid with through the page (the sandbox's test inputs), and a
# currency it takes.
SAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "credit_card": ("JPY", {"number": "4111111111111111", "month": "12", "year": "2030"}),
    "konbini": ("JPY", {"store": "seven-eleven", "email": "a@example.com"}),
    "bank_transfer": (
        "JPY",
        {
            "given_name": "Taro",
            "family_name": "Yamada",
            "given_name_kana": "タロウ",
            "family_name_kana": "ヤマダ",
            "phone": "0312345678",
            "email": "a@example.com",
        },
    ),
    "pay_easy": (
        "JPY",
        {
            "given_name": "Taro",
            "family_name": "Yamada",
            "given_name_kana": "タロウ",
            "family_name_kana": "ヤマダ",
            "phone": "0312345678",
            "email": "a@example.com",
        },
    ),
    "web_money": ("JPY", {"prepaid_number": "1111111111111111"}),
    "net_cash": ("JPY", {"prepaid_number": "1111111111111111"}),
    "bit_cash": ("JPY", {"prepaid_number": "1111111111111111"}),
    "nanaco": ("JPY", {"prepaid_number": "1111111111111111"}),
    "steam_prepaid_card": ("JPY", {"prepaid_number": "1111111111111111"}),
    "japan_mobile": ("JPY", {"brand": "docomo"}),
    "mobile": ("KRW", {"email": "a@example.com"}),
    "line_pay": ("JPY", {}),
    "merpay": ("JPY", {}),
    "paidy": ("JPY", {}),
    "happy_money": ("KRW", {"happy_money_id": "hm-1", "happy_money_password": "secret"}),
    "culture_voucher": ("KRW", {"culture_id": "cv-1", "culture_password": "secret"}),
    "toss": ("KRW", {"birthday": "900101"}),
    "cvs": ("KRW", {"email": "a@example.com"}),
    "dospara": ("JPY", {"user_no": "u-1", "user_password": "secret"}),
    "zgold": ("USD", {}),
    "paysafe_cash": ("EUR", {}),
    "paysafe_card": ("EUR", {}),
    "nexus_transfer": ("JPY", {"provider": "bank-a"}),
    **{type_: (currency, {}) for currency, types in NO_FIELD_TYPES_BY_CURRENCY.items() for type_ in types},
    **{type_: ("EUR", {"email": "a@example.com"}) for type_ in ("multibanco", "sepa_transfer", "narvesen")},
    **{type_: ("EUR", {"email": "a@example.com"}) for type_ in ("perlas", "paypost")},
    "credit_card_korea": (
        "KRW",
        {"number": "4111111111111111", "month": "12", "year": "2030", "first_two_digits_of_pin": "12"},
    ),
    "credit_card_brazil": (
        "BRL",
        {
            "email": "a@example.com",
            "number": "4111111111111111",
            "month": "12",
            "year": "2030",
            "name": "Joao Silva",
            "cpf_or_cnpj": "29259995060",
        },
    ),
    "pix": ("BRL", {"name": "Joao Silva", "email": "a@example.com", "cpf": "29259995060"}),
}


def new_session(site_api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = site_api.post("/sessions", json={"amount": 1000, "currency": "JPY", **body})
    assert response.status_code == 200, response.text
    return response.json()


def return_url(site: ServerProcess) -> str:
    """A merchant's page the customer comes back to (this server's /health answers it)."""
    return f"{site.url}/health?order={uuid.uuid4().hex[:8]}"


def fill_card(page: Any, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("2030")
    page.get_by_label("Security code (CVV)").fill("123")
    page.get_by_label("Name on card").fill("TARO YAMADA")
    page.get_by_label("Email").fill("taro@example.com")


# -- in Chromium ------------------------------------------------------------------------------


def test_pay_by_card_ends_on_the_return_url(
    site: ServerProcess, site_api: httpx.Client, hooks: Hooks, page: Any
) -> None:
    back = return_url(site)
    session = new_session(site_api, return_url=back, default_locale="en")
    page.goto(session["session_url"])
    assert page.locator("h1").inner_text() == "Payment"
    assert page.get_by_test_id("amount").inner_text() == "¥1,000"
    fill_card(page, "4111111111111111")
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    shown = site_api.get(f"/sessions/{session['id']}").json()
    assert shown["status"] == "completed"
    payment = shown["payment"]
    assert (payment["status"], payment["session"], payment["total"]) == ("captured", session["id"], 1000)
    assert payment["payment_details"]["last_four_digits"] == "1111"
    event = hooks.wait_event("payment.captured", payment["id"])
    assert event["data"]["session"] == session["id"]


@pytest.mark.parametrize("number", ["4100000000005000", "5100000000005007"])
def test_a_3d_secure_challenge_passed_pays_the_session(
    site: ServerProcess, site_api: httpx.Client, hooks: Hooks, page: Any, number: str
) -> None:
    back = return_url(site)
    session = new_session(site_api, return_url=back, default_locale="en")
    page.goto(session["session_url"])
    fill_card(page, number)
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(re.compile(r"/three_d_secure/tok_"))  # the challenge, before any payment
    assert site_api.get(f"/sessions/{session['id']}").json()["status"] == "pending"
    page.get_by_label("Password").fill("123456")
    page.get_by_role("button", name="Authenticate").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    payment = site_api.get(f"/sessions/{session['id']}").json()["payment"]
    assert (payment["status"], payment["total"]) == ("captured", 1000)
    assert payment["payment_details"]["last_four_digits"] == number[-4:]
    assert hooks.wait_event("payment.captured", payment["id"])["data"]["session"] == session["id"]


def test_a_3d_secure_challenge_failed_leaves_the_session_to_try_again(
    site: ServerProcess, site_api: httpx.Client, page: Any
) -> None:
    back = return_url(site)
    session = new_session(site_api, return_url=back, default_locale="en")
    page.goto(session["session_url"])
    fill_card(page, "4100000000300005")
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.get_by_label("Password").fill("111111")
    page.get_by_role("button", name="Authenticate").click()
    page.wait_for_url(re.compile(rf"/sessions/{session['id']}/three_d_secure\?secure_token_id=tok_"))
    assert page.get_by_role("alert").inner_text() == (
        "3-D Secure authentication failed. Please try again or use another card."
    )
    shown = site_api.get(f"/sessions/{session['id']}").json()
    assert (shown["status"], shown["payment"]) == ("pending", None)
    fill_card(page, "4100000000000100")  # frictionless: passes without a challenge
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    assert site_api.get(f"/sessions/{session['id']}").json()["payment"]["status"] == "captured"


def test_a_3d_secure_token_pays_its_own_session_once(site: ServerProcess, site_api: httpx.Client) -> None:
    """Coming back twice, or with a token verified for another session's amount, pays nothing more."""
    first = new_session(site_api, return_url=return_url(site))
    other = new_session(site_api, amount=2000, return_url=return_url(site))
    card = {
        "type": "credit_card",
        "number": "4100000000000100",
        "month": "12",
        "year": "2030",
        "verification_value": "123",
    }
    token = site_api.post(
        "/secure_tokens",
        json={"amount": 1000, "currency": "JPY", "return_url": "https://shop.example/back", "payment_details": card},
    ).json()
    assert token["verification_status"] == "NEEDS_VERIFY"
    with httpx.Client(base_url=site.url, follow_redirects=False) as browser:
        assert browser.get(f"/three_d_secure/{token['id']}").status_code == 303  # frictionless pass
        elsewhere = browser.get(f"/sessions/{other['id']}/three_d_secure", params={"secure_token_id": token["id"]})
        assert elsewhere.status_code == 422  # the form again, with the reason
        assert site_api.get(f"/sessions/{other['id']}").json()["status"] == "pending"
        paid = browser.get(f"/sessions/{first['id']}/three_d_secure", params={"secure_token_id": token["id"]})
        assert paid.status_code == 303
        assert paid.headers["location"].endswith(f"session_id={first['id']}")
        again = browser.get(f"/sessions/{first['id']}/three_d_secure", params={"secure_token_id": token["id"]})
        assert (again.status_code, again.headers["location"]) == (303, f"/sessions/{first['id']}")
    payments = site_api.get("/payments", params={"per_page": 100}).json()["data"]
    assert [p["session"] for p in payments].count(first["id"]) == 1


def test_a_declined_card_says_so_and_keeps_what_was_typed(
    site: ServerProcess, site_api: httpx.Client, page: Any
) -> None:
    session = new_session(site_api, return_url=return_url(site), default_locale="en")
    page.goto(session["session_url"])
    fill_card(page, DECLINED)
    page.get_by_role("button", name="Pay ¥1,000").click()
    assert page.get_by_role("alert").inner_text() == "Your card was declined. Please try another card."
    assert page.get_by_label("Card number").input_value() == ""  # never sent back
    assert page.get_by_label("Security code (CVV)").input_value() == ""
    assert page.get_by_label("Expiry month").input_value() == "12"
    assert page.get_by_label("Expiry year").input_value() == "2030"
    assert page.get_by_label("Name on card").input_value() == "TARO YAMADA"
    assert page.get_by_label("Email").input_value() == "taro@example.com"
    assert DECLINED not in page.content()
    assert site_api.get(f"/sessions/{session['id']}").json()["status"] == "pending"
    # The customer tries again with another card, on the same page.
    page.get_by_label("Card number").fill("4111111111111111")
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(re.compile(r".*session_id=" + session["id"]))
    assert site_api.get(f"/sessions/{session['id']}").json()["status"] == "completed"


def test_a_wrong_field_is_named(site: ServerProcess, site_api: httpx.Client, page: Any) -> None:
    session = new_session(site_api, default_locale="en")
    page.goto(session["session_url"])
    fill_card(page, "4111111111111112")  # fails the Luhn check
    page.get_by_role("button", name="Pay ¥1,000").click()
    assert page.get_by_role("alert").inner_text() == "Please check: Card number."
    assert page.get_by_label("Card number").get_attribute("aria-invalid") == "true"


def test_konbini_goes_through_its_slip_and_back_to_the_shop(
    site: ServerProcess, site_api: httpx.Client, hooks: Hooks, page: Any
) -> None:
    back = return_url(site)
    session = new_session(site_api, return_url=back, email="buyer@example.com", default_locale="en")
    page.goto(session["session_url"])
    page.get_by_role("link", name="Konbini").click()
    page.get_by_label("Convenience store").select_option("lawson")
    assert page.get_by_label("Email").input_value() == "buyer@example.com"  # the session's
    page.get_by_role("button", name="Pay ¥1,000").click()
    page.wait_for_url(re.compile(r".*/instructions/.*"))
    shown = site_api.get(f"/sessions/{session['id']}").json()
    payment = shown["payment"]
    assert shown["status"] == "completed"  # the session is done: the slip is the payment's now
    assert page.url == payment["payment_details"]["instructions_url"]
    assert (payment["status"], payment["payment_details"]["store"]) == ("authorized", "lawson")
    assert hooks.wait_event("payment.authorized", payment["id"])["data"]["session"] == session["id"]
    assert page.locator("#receipt").inner_text() == payment["payment_details"]["receipt"]

    page.locator("section.simulate").get_by_role("button", name="Simulate payment").click()
    page.wait_for_load_state()
    assert page.locator("#payment-status strong").inner_text() == "Paid"
    assert hooks.wait_event("payment.captured", payment["id"])["data"]["status"] == "captured"
    page.get_by_role("link", name="Back to the shop").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    assert site_api.get(f"/payments/{payment['id']}").json()["status"] == "captured"


def test_cancel_returns_to_the_shop_and_cancels_the_session(
    site: ServerProcess, site_api: httpx.Client, page: Any
) -> None:
    back = return_url(site)
    session = new_session(site_api, return_url=back, default_locale="en")
    page.goto(session["session_url"])
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    assert site_api.get(f"/sessions/{session['id']}").json()["status"] == "cancelled"
    page.goto(session["session_url"])
    assert page.get_by_role("status").filter(has_text="cancelled").inner_text() == (
        "This payment was cancelled and can no longer be paid."
    )
    assert page.get_by_role("button", name="Pay ¥1,000").count() == 0


def test_a_paid_or_expired_session_says_so(site: ServerProcess, site_api: httpx.Client, page: Any) -> None:
    back = return_url(site)
    paid = new_session(site_api, return_url=back, default_locale="en")
    site_api.post(
        f"/sessions/{paid['id']}/pay",
        json={"payment_details": {"type": "credit_card", "number": "4111111111111111", "month": 1, "year": 2030}},
    )
    page.goto(paid["session_url"])
    assert page.get_by_text("This payment has been completed.").is_visible()
    assert page.get_by_role("link", name="Back to the shop").get_attribute("href") == (
        f"{back}&session_id={paid['id']}"
    )
    expiring = new_session(site_api, expires_in_seconds=30, default_locale="en")
    assert site_api.post("/sandbox/clock/advance", json={"seconds": 31}).status_code == 200
    page.goto(expiring["session_url"])
    assert page.locator("h2").first.inner_text() == "Payment expired"
    assert page.get_by_role("button", name="Pay ¥1,000").count() == 0


def test_the_page_speaks_the_sessions_language_and_switches(
    site: ServerProcess, site_api: httpx.Client, page: Any
) -> None:
    session = new_session(site_api, default_locale="ja")
    page.goto(session["session_url"])
    assert page.locator("h1").inner_text() == "お支払い"
    assert page.get_by_label("カード番号").is_visible()
    page.get_by_role("link", name="한국어").click()
    assert page.locator("h1").inner_text() == "결제"
    page.get_by_label("카드 번호").fill(DECLINED)
    page.get_by_label("유효기간 (월)").fill("1")
    page.get_by_label("유효기간 (년)").fill("2030")
    page.get_by_role("button", name="¥1,000 결제하기").click()
    assert page.get_by_role("alert").inner_text() == "카드가 거절되었습니다. 다른 카드를 사용해 주세요."
    assert page.locator("html").get_attribute("lang") == "ko"


def test_a_customer_session_saves_the_card(site: ServerProcess, site_api: httpx.Client, page: Any) -> None:
    back = return_url(site)
    session = new_session(site_api, mode="customer", return_url=back, default_locale="en")
    page.goto(session["session_url"])
    assert page.locator("h1").inner_text() == "Save your payment method"
    fill_card(page, "5555555555554444")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{back}&session_id={session['id']}")
    shown = site_api.get(f"/sessions/{session['id']}").json()
    customer = site_api.get(f"/customers/{shown['customer_id']}").json()
    assert customer["payment_details"]["brand"] == "master"


def test_a_phone_sized_screen_shows_the_form(site: ServerProcess, site_api: httpx.Client, browser_context: Any) -> None:
    session = new_session(site_api, default_locale="en")
    phone = browser_context(viewport={"width": 360, "height": 740}).new_page()
    phone.goto(session["session_url"])
    box = phone.get_by_label("Card number").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


# -- over HTTP --------------------------------------------------------------------------------


def _form_token(client: httpx.Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("type_", [m.type for m in METHODS])
def test_every_method_renders_a_form_and_pays_through_it(
    site: ServerProcess, site_api: httpx.Client, type_: str
) -> None:
    currency, details = SAMPLES[type_]
    session = new_session(site_api, currency=currency, payment_types=[type_], return_url=return_url(site))
    with httpx.Client(timeout=30) as browser:
        url = session["session_url"] + "?locale=en"
        token = _form_token(browser, url)
        page = browser.get(url).text
        for name in details:
            assert f'name="payment_details[{name}]"' in page, name
        form = {"authenticity_token": token, "payment_details[type]": type_}
        form.update({f"payment_details[{name}]": value for name, value in details.items()})
        answer = browser.post(url, data=form)
    assert answer.status_code == 303, answer.text
    shown = site_api.get(f"/sessions/{session['id']}").json()
    assert shown["status"] == "completed"
    assert answer.headers["location"] in (
        shown["payment"]["payment_details"].get("redirect_url"),
        shown["payment"]["payment_details"].get("instructions_url"),
        f"{session['return_url']}&session_id={session['id']}",
    )


def test_a_form_without_its_token_is_refused(site: ServerProcess, site_api: httpx.Client) -> None:
    session = new_session(site_api)
    with httpx.Client(timeout=30) as browser:
        _form_token(browser, session["session_url"])
        form = {"payment_details[type]": "credit_card", "payment_details[number]": "4111111111111111"}
        refused = browser.post(session["session_url"], data=form)
        cancel = browser.post(session["session_url"] + "/cancel", data={"authenticity_token": "0" * 64})
    assert (refused.status_code, cancel.status_code) == (403, 403)
    assert site_api.get(f"/sessions/{session['id']}").json()["status"] == "pending"


def test_an_unknown_session_is_the_not_found_page(site: ServerProcess) -> None:
    answer = httpx.get(site.url + "/sessions/nosuchsession0000000000000?locale=en")
    assert answer.status_code == 404
    assert "This page does not exist." in answer.text
