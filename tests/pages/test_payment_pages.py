"""The instructions and offsite pages without a browser, on both databases: what they show for
every store and method, escaping, CSRF, live payments kept away from test controls, 404s, the
locale, and where the customer is sent back to. (tests/pages/test_instructions.py and
test_offsite.py drive the same pages in Chromium.)"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from komoju_server.domain import ids
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.payment import Payment
from komoju_server.domain.states import STATUSES
from komoju_server.methods import Family
from komoju_server.methods import listing as methods_listing
from komoju_server.methods.catalogue import KONBINI_STORES, METHODS
from komoju_server.pages import how_to_pay
from komoju_server.pages.csrf import COOKIE
from komoju_server.pages.locale import LOCALES
from komoju_server.pages.messages import Messages
from komoju_server.processors.sandbox import konbini_slip
from komoju_server.store import payments as payments_table
from tests.inprocess import InProcessServer

_TOKEN = re.compile(r'name="authenticity_token" value="([0-9a-f]{64})"')
KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.jp", "phone": "090-1234-5678"}
BANK_TRANSFER = {
    "type": "bank_transfer",
    "email": "taro@example.jp",
    "given_name": "太郎",
    "family_name": "山田",
    "given_name_kana": "タロウ",
    "family_name_kana": "ヤマダ",
    "phone": "090-1234-5678",
}
PAY_EASY = {**BANK_TRANSFER, "type": "pay_easy"}
LINE_PAY = {"type": "line_pay", "email": "taro@example.jp"}


@pytest.fixture
def shop(server: InProcessServer, merchant: dict[str, str]) -> Iterator[httpx.Client]:
    """The merchant's API client."""
    with server.client(merchant["test_secret_key"]) as client:
        yield client


@pytest.fixture
def browser(server: InProcessServer) -> Iterator[httpx.Client]:
    """A customer's browser, without JavaScript: its own cookies, and redirects left to the test."""
    with httpx.Client(transport=server.transport, base_url=server.url) as client:
        yield client


def pay(shop: httpx.Client, details: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answer = shop.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": details, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def token(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found, page.text
    return found.group(1)


def text(page: httpx.Response) -> str:
    """The page's words as a reader sees them: tags dropped (`<dd>1234</dd>` reads `1234`), entities read."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


# -- the words ---------------------------------------------------------------------------------


def test_every_status_and_method_has_its_words() -> None:
    keys = set(Messages.load().keys)
    wanted = {f"payment.status_{s}" for s in STATUSES} | {f"payment.notice_{s}" for s in STATUSES}
    wanted |= {f"instructions.title_{m.type}" for m in METHODS if m.family is Family.DELAYED}
    assert sorted(wanted - keys) == []


def test_every_store_has_its_steps_in_every_language_and_fills_its_numbers() -> None:
    assert sorted(how_to_pay.KONBINI) == sorted(KONBINI_STORES)
    keys = set(Messages.load().keys)
    for store, chain in how_to_pay.KONBINI.items():
        assert {chain.name, chain.receipt, chain.confirmation} <= keys, store
        slip = konbini_slip(store, "090-1234-5678")
        for locale in LOCALES:
            assert len(chain.steps[locale]) == len(chain.steps["ja"]), (store, locale)
            steps = how_to_pay.filled(chain.steps, locale, {"store": store, **slip})
            assert any(slip["receipt"] in step for step in steps), (store, locale)
            if slip["confirmation_code"]:
                assert any(slip["confirmation_code"] in step for step in steps), (store, locale)
            assert not any("{" in step or "}" in step for step in steps), (store, locale)


@pytest.mark.parametrize(
    ("steps", "fields"),
    [
        (how_to_pay.BANK_TRANSFER, {"order_id"}),
        (how_to_pay.PAY_EASY_ATM, {"bank_id", "customer_id", "confirmation_id"}),
        (how_to_pay.PAY_EASY_ONLINE, {"bank_id", "customer_id", "confirmation_id"}),
    ],
)
def test_transfer_and_pay_easy_steps_name_only_their_numbers(steps: how_to_pay.Steps, fields: set[str]) -> None:
    for locale in LOCALES:
        named = {name for step in steps[locale] for _, name, _, _ in string.Formatter().parse(step) if name}
        assert named == fields, locale


# -- instructions --------------------------------------------------------------------------------


@pytest.mark.parametrize("store", KONBINI_STORES)
def test_a_konbini_slip_shows_the_chains_numbers_and_steps(
    shop: httpx.Client, browser: httpx.Client, store: str
) -> None:
    payment = pay(shop, {**KONBINI, "store": store}, locale="en", external_order_num="order-42")
    details = payment["payment_details"]
    page = browser.get(path_of(details["instructions_url"]))
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    words = text(page)
    chain = how_to_pay.KONBINI[store]
    t = Messages.load().translator("en")
    assert f"{t(chain.receipt)} {details['receipt']}" in words
    if store == "seven-eleven":  # a payment slip number and nothing else
        assert details["confirmation_code"] is None
        assert 'id="confirmation-code"' not in page.text
    else:
        assert f"{t(chain.confirmation)} {details['confirmation_code']}" in words
    assert f"How to pay at {t(chain.name)}" in words
    assert "Amount ¥1,100" in words
    assert "Order number order-42" in words
    assert re.search(r"Payment deadline \d{4}-\d\d-\d\d 23:59 \(JST\)", words)
    assert 'class="card simulate"' in page.text


def test_a_bank_transfer_shows_the_account_and_the_order_number_to_send_as(
    shop: httpx.Client, browser: httpx.Client
) -> None:
    payment = pay(shop, BANK_TRANSFER, locale="ja")
    details = payment["payment_details"]
    words = text(browser.get(path_of(details["instructions_url"])))
    assert "銀行名 三井住友銀行" in words
    assert f"支店名 {details['account_branch_name']}" in words
    assert "口座種別 普通預金" in words
    assert f"口座番号 {details['account_number']}" in words
    assert "口座名義 株式会社DEGICA(カブシキガイシャ デジカ)" in words
    assert f"振込依頼人名 {details['order_id']}" in words
    assert f"振込依頼人名には、お名前の代わりに注文番号「{details['order_id']}」を入力してください。" in words


def test_pay_easy_shows_its_three_numbers_and_both_ways_to_pay(shop: httpx.Client, browser: httpx.Client) -> None:
    payment = pay(shop, PAY_EASY, locale="ko")
    details = payment["payment_details"]
    words = text(browser.get(path_of(details["instructions_url"])))
    assert f"수납기관 번호 (収納機関番号) {details['bank_id']}" in words
    assert f"고객 번호 (お客様番号) {details['customer_id']}" in words
    assert f"확인 번호 (確認番号) {details['confirmation_id']}" in words
    assert "ATM에서 결제하는 방법" in words and "인터넷 뱅킹으로 결제하는 방법" in words


def test_what_the_merchant_and_customer_gave_is_shown_as_text(server: InProcessServer, browser: httpx.Client) -> None:
    evil = "<script>alert(1)</script>"
    merchant = server.new_merchant(name=f"Shop {evil}")
    with server.client(merchant["test_secret_key"]) as shop:
        konbini = pay(shop, KONBINI, external_order_num=evil, locale="en")
        offsite = pay(shop, LINE_PAY, external_order_num=evil, locale="en")
    for url in (konbini["payment_details"]["instructions_url"], offsite["payment_details"]["redirect_url"]):
        page = browser.get(path_of(url))
        assert page.status_code == 200
        assert "<script" not in page.text
        assert "Shop &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert page.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # merchant, order number


def test_simulate_payment_captures_it_once_and_shows_it_paid(shop: httpx.Client, browser: httpx.Client) -> None:
    payment = pay(shop, KONBINI, locale="en")
    path = path_of(payment["payment_details"]["instructions_url"])
    form = browser.get(path + "?locale=ko")
    done = browser.post(path + "?locale=ko", data={"authenticity_token": token(form), "simulate": "pay"})
    assert done.status_code == 303
    assert done.headers["location"] == path + "?locale=ko"  # back to this page, in the chosen language
    assert shop.get(f"/payments/{payment['id']}").json()["status"] == "captured"
    paid = browser.get(path)
    assert "Paid This payment has been made. Thank you." in text(paid)
    assert 'class="card simulate"' not in paid.text and 'id="receipt"' not in paid.text  # no more asking
    again = browser.post(path, data={"authenticity_token": token(form), "simulate": "pay"})
    assert again.status_code == 409
    assert "This has already been done." in again.text
    events = shop.get("/events").json()["data"]
    assert [e["type"] for e in events if e["data"]["id"] == payment["id"]] == ["payment.captured", "payment.authorized"]


@pytest.mark.parametrize("status", ["expired", "cancelled"])
def test_a_closed_payment_says_so_instead_of_asking_for_payment(
    server: InProcessServer, shop: httpx.Client, browser: httpx.Client, status: str
) -> None:
    payment = pay(shop, KONBINI, locale="en")
    if status == "cancelled":
        assert shop.post(f"/payments/{payment['id']}/cancel").status_code == 200
    else:
        assert shop.post("/sandbox/clock/advance", json={"seconds": 60 * 86_400}).status_code == 200
    page = browser.get(path_of(payment["payment_details"]["instructions_url"]))
    words = text(page)
    notice = {"expired": "The payment deadline has passed", "cancelled": "This payment was cancelled."}[status]
    assert f"{status.capitalize()} {notice}" in words
    assert 'id="receipt"' not in page.text and "simulate" not in page.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    server: InProcessServer, shop: httpx.Client, browser: httpx.Client
) -> None:
    konbini = pay(shop, KONBINI)
    line_pay = pay(shop, LINE_PAY)
    pages = (
        (path_of(konbini["payment_details"]["instructions_url"]), {"simulate": "pay"}),
        (path_of(line_pay["payment_details"]["redirect_url"]), {"decision": "approve"}),
    )
    for path, form in pages:
        real = token(browser.get(path))  # the browser has its cookie now
        for sent in ({}, {"authenticity_token": "0" * 64}, {"authenticity_token": real[:-1]}):
            refused = browser.post(path, data={**form, **sent})
            assert refused.status_code == 403
            assert "フォームの有効期限が切れました。" in refused.text  # in Japanese, by default
        with httpx.Client(transport=server.transport, base_url=server.url) as other:  # another browser
            assert other.post(path, data={**form, "authenticity_token": real}).status_code == 403
    for payment in (konbini, line_pay):
        assert shop.get(f"/payments/{payment['id']}").json()["status"] == "authorized"
    events = shop.get("/events").json()["data"]
    assert [e["type"] for e in events if e["data"]["id"] in (konbini["id"], line_pay["id"])] == [
        "payment.authorized"
    ] * 2
    assert browser.cookies.get(COOKIE)


@pytest.mark.parametrize(
    "path",
    [
        "/instructions/" + "0" * 25,  # nobody's
        "/offsite/" + "0" * 25,
        "/instructions/NOT-AN-ID",
        "/offsite/%00",
        "/instructions/" + "a" * 300,
    ],
)
def test_an_unknown_payment_is_the_404_page(browser: httpx.Client, path: str) -> None:
    page = browser.get(path, headers={"Accept-Language": "ko-KR"})
    assert page.status_code == 404
    assert "이 페이지를 찾을 수 없습니다." in page.text
    refused = browser.post(path, data={"simulate": "pay"})
    assert refused.status_code in (403, 404)  # no form gets past CSRF, nor finds anything


def test_each_page_is_only_for_its_own_methods(shop: httpx.Client, browser: httpx.Client) -> None:
    konbini = pay(shop, KONBINI)
    line_pay = pay(shop, LINE_PAY)
    card = pay(shop, {"type": "credit_card", "number": "4111111111111111", "month": 12, "year": 2040})
    for payment in (line_pay, card):
        assert browser.get(f"/instructions/{payment['id']}").status_code == 404
    for payment in (konbini, card):
        assert browser.get(f"/offsite/{payment['id']}").status_code == 404
    form = token(browser.get(f"/instructions/{konbini['id']}"))
    assert (
        browser.post(f"/offsite/{konbini['id']}", data={"authenticity_token": form, "decision": "approve"}).status_code
        == 404
    )
    assert shop.get(f"/payments/{konbini['id']}").json()["status"] == "authorized"


def test_a_live_payment_never_meets_a_test_control(
    server: InProcessServer, merchant: dict[str, str], shop: httpx.Client, browser: httpx.Client
) -> None:
    """No live processor here: the live payments are written as one would have made them."""
    slip = {**konbini_slip("lawson", None), "instructions_url": "https://komoju.example/instructions/x"}
    live = [
        Payment(
            id=ids.new_id(),
            merchant_id=merchant["merchant_id"],
            mode="live",
            method_type=kind,
            status="authorized",
            amount=1000,
            tax=100,
            currency="JPY",
            created_at=1_800_000_000,
            details=details,
            payment_deadline=4_000_000_000,
        )
        for kind, details in (
            ("konbini", {"type": "konbini", "store": "lawson", **slip}),
            ("line_pay", {"type": "line_pay", "redirect_url": "https://provider.example/pay"}),
        )
    ]
    for payment in live:
        server.run(server.runtime.store.run(payments_table.insert(payment)))
    konbini, line_pay = live
    form = token(browser.get(f"/instructions/{pay(shop, KONBINI)['id']}"))  # a real CSRF token
    # The instructions show (a live processor may send customers here), without the test box.
    page = browser.get(f"/instructions/{konbini.id}")
    assert page.status_code == 200
    assert konbini.details["receipt"] in page.text
    assert "simulate" not in page.text and "テストモード" not in page.text
    assert (
        browser.post(f"/instructions/{konbini.id}", data={"authenticity_token": form, "simulate": "pay"}).status_code
        == 404
    )
    # The offsite page is the sandbox's simulation of a provider: live payments have none.
    assert browser.get(f"/offsite/{line_pay.id}").status_code == 404
    for decision in ("approve", "decline", "cancel"):
        answer = browser.post(f"/offsite/{line_pay.id}", data={"authenticity_token": form, "decision": decision})
        assert answer.status_code == 404
    for payment in live:
        stored = server.run(payments_table.find(server.runtime.store, payment.id))
        assert stored is not None and stored.status == "authorized" and stored.version == 0
    # The services refuse them too, should another caller ever ask.
    with pytest.raises(ApiError) as unknown:
        server.run(server.runtime.payment_pages.act(konbini.id, Family.DELAYED, "pay"))
    assert unknown.value.code == "not_found"
    owner = Caller(merchant["merchant_id"], "live", "secret")
    for control in (server.runtime.sandbox.complete, server.runtime.sandbox.fail, server.runtime.sandbox.cancel):
        with pytest.raises(ApiError) as refused:
            server.run(control(owner, line_pay.id))
        assert refused.value.code == "forbidden"


@pytest.mark.parametrize(
    ("locale", "query", "accept", "title"),
    [
        ("en", "", "ko", "Pay at a convenience store"),  # the payment's locale over the browser's
        ("ja", "", "en", "コンビニでのお支払い"),
        ("ja", "?locale=ko", "en", "편의점 결제 안내"),  # the customer's choice over both
        ("ko", "?locale=fr", "en", "편의점 결제 안내"),  # an unknown choice is ignored
    ],
)
def test_the_page_speaks_the_payments_locale_unless_the_customer_chooses(
    shop: httpx.Client, browser: httpx.Client, locale: str, query: str, accept: str, title: str
) -> None:
    payment = pay(shop, KONBINI, locale=locale)
    page = browser.get(f"/instructions/{payment['id']}{query}", headers={"Accept-Language": accept})
    assert f'<h1 id="title">{title}</h1>' in page.text


# -- offsite ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status", "event"),
    [
        ("approve", "captured", "payment.captured"),
        ("decline", "failed", "payment.failed"),
        ("cancel", "cancelled", "payment.cancelled"),
    ],
)
def test_a_decision_goes_back_to_the_return_url(
    shop: httpx.Client, browser: httpx.Client, decision: str, status: str, event: str
) -> None:
    back = "https://shop.example/orders/42?step=paid"
    payment = pay(shop, LINE_PAY, return_url=back, locale="en")
    path = path_of(payment["payment_details"]["redirect_url"])
    page = browser.get(path)
    assert "This page simulates LINE Pay's site (test mode)." in text(page)
    done = browser.post(path, data={"authenticity_token": token(page), "decision": decision})
    assert done.status_code == 303
    assert done.headers["location"] == back  # exactly the merchant's URL: nothing added
    shown = shop.get(f"/payments/{payment['id']}").json()
    assert shown["status"] == status
    events = [e["type"] for e in shop.get("/events").json()["data"] if e["data"]["id"] == payment["id"]]
    assert events == [event, "payment.authorized"]  # newest first
    after = browser.get(path)
    assert 'name="decision"' not in after.text  # no more buttons: the status instead
    assert f'class="status status-{status}"' in after.text


def test_without_a_return_url_the_customer_sees_the_result_here(shop: httpx.Client, browser: httpx.Client) -> None:
    payment = pay(shop, {"type": "paidy", "email": "taro@example.jp"}, locale="ja")
    path = path_of(payment["payment_details"]["redirect_url"])
    form = token(browser.get(path))
    done = browser.post(path + "?locale=en", data={"authenticity_token": form, "decision": "approve"})
    assert done.status_code == 303
    assert done.headers["location"] == path + "?locale=en"
    result = browser.get(done.headers["location"])
    assert "Paid This payment has been made. Thank you." in text(result)
    assert 'id="back"' not in result.text and 'name="decision"' not in result.text
    again = browser.post(path, data={"authenticity_token": form, "decision": "cancel"})  # a second tab, say
    assert again.status_code == 409
    assert "この操作はすでに行われました。" in again.text  # in the payment's language
    assert shop.get(f"/payments/{payment['id']}").json()["status"] == "captured"


def test_payment_details_return_url_and_cancel_url_are_honoured(shop: httpx.Client, browser: httpx.Client) -> None:
    given = pay(shop, {**LINE_PAY, "return_url": "https://shop.example/from-details"})
    cancelled = pay(shop, LINE_PAY, return_url="https://shop.example/done", cancel_url="https://shop.example/cancelled")
    form = token(browser.get(f"/offsite/{given['id']}"))
    approved = browser.post(f"/offsite/{given['id']}", data={"authenticity_token": form, "decision": "approve"})
    assert approved.headers["location"] == "https://shop.example/from-details"
    assert "return_url" not in given["payment_details"]  # still not answered: not one of its public fields
    gone = browser.post(f"/offsite/{cancelled['id']}", data={"authenticity_token": form, "decision": "cancel"})
    assert gone.headers["location"] == "https://shop.example/cancelled"


@pytest.mark.parametrize("decision", [None, "", "capture", "APPROVE"])
def test_an_unknown_decision_is_refused(shop: httpx.Client, browser: httpx.Client, decision: str | None) -> None:
    payment = pay(shop, LINE_PAY)
    form: dict[str, str] = {"authenticity_token": token(browser.get(f"/offsite/{payment['id']}"))}
    if decision is not None:
        form["decision"] = decision
    assert browser.post(f"/offsite/{payment['id']}", data=form).status_code == 400
    assert shop.get(f"/payments/{payment['id']}").json()["status"] == "authorized"


def test_every_redirect_method_has_an_offsite_page(shop: httpx.Client, browser: httpx.Client) -> None:
    needs = {
        "japan_mobile": {"brand": "docomo"},
        "mobile": {"email": "taro@example.jp"},
        "toss": {"birthday": "900101"},
        "cvs": {"email": "taro@example.jp"},
        "nexus_transfer": {"provider": "nexus"},
        "pix": {"name": "Joao Silva", "email": "taro@example.jp", "cpf": "29259995060"},
    }
    for method in METHODS:
        if method.family is not Family.REDIRECT:
            continue
        currency = next(iter(method.limits))
        answer = shop.post(
            "/payments",
            json={
                "amount": 1000,
                "currency": currency,
                "locale": "en",
                "payment_details": {"type": method.type, **needs.get(method.type, {})},
            },
        )
        assert answer.status_code == 200, (method.type, answer.text)
        page = browser.get(path_of(answer.json()["payment_details"]["redirect_url"]))
        assert page.status_code == 200, method.type
        assert f"Payment method {methods_listing.name(method.type, 'en')}" in text(page)


def test_a_session_payment_goes_back_to_the_sessions_return_url_with_its_id(
    shop: httpx.Client, browser: httpx.Client
) -> None:
    """The hosted page sends redirect and konbini payments here; back is return_url?session_id=ID."""
    made = shop.post(
        "/sessions", json={"amount": 1000, "currency": "JPY", "return_url": "https://shop.example/back?cart=7"}
    ).json()
    back = f"https://shop.example/back?cart=7&session_id={made['id']}"
    paid = shop.post(f"/sessions/{made['id']}/pay", json={"payment_details": LINE_PAY})
    assert paid.status_code == 200, paid.text
    payment = paid.json()["payment"]
    assert payment["session"] == made["id"]
    path = path_of(payment["payment_details"]["redirect_url"])
    approved = browser.post(path, data={"authenticity_token": token(browser.get(path)), "decision": "approve"})
    assert approved.status_code == 303
    assert approved.headers["location"] == back
    assert shop.get(f"/payments/{payment['id']}").json()["status"] == "captured"
    assert shop.get(f"/sessions/{made['id']}").json()["payment"]["status"] == "captured"

    konbini = shop.post(
        "/sessions", json={"amount": 1000, "currency": "JPY", "return_url": "https://shop.example/back"}
    ).json()
    slip = shop.post(f"/sessions/{konbini['id']}/pay", json={"payment_details": KONBINI}).json()["payment"]
    page = browser.get(path_of(slip["payment_details"]["instructions_url"]))
    assert f'id="back" href="https://shop.example/back?session_id={konbini["id"]}"' in page.text
