"""The dashboard without a browser, on both databases: signing in and out, the session cookie,
CSRF on every form, one merchant never seeing another's objects, escaping, the actions' inputs
and refusals, live mode, and the recent requests (never a query string, a body or a key)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest

from komoju_server.pages.csrf import FIELD, Csrf
from komoju_server.store.base import Write
from komoju_server.store.merchants import key_digest
from tests.api.payment_support import BANK_ACCOUNT, card, created, konbini
from tests.inprocess import InProcessServer
from tests.pages.dashboard_support import Browserless, text_of

SESSION = "komoju_dashboard"


def browserless(server: InProcessServer, session: str | None = None) -> Browserless:
    """A browser of its own (`session`: with that session cookie's value)."""
    cookies = {SESSION: session} if session else None
    return Browserless(
        httpx.Client(transport=server.transport, base_url=server.url, follow_redirects=False, cookies=cookies)
    )


@pytest.fixture
def dash(server: InProcessServer, merchant: dict[str, str]) -> Iterator[Browserless]:
    """A browser signed in to the dashboard as the test's own merchant (test mode)."""
    client = browserless(server)
    answer = client.sign_in(merchant["test_secret_key"])
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard")
    yield client
    client.client.close()


def sessions(server: InProcessServer) -> list[tuple]:
    return server.run(
        server.runtime.store.fetch_all("SELECT id_hash, key_hash, merchant_id, mode FROM dashboard_sessions")
    )


# -- signing in and out ------------------------------------------------------------------------


def test_signing_in_sets_an_httponly_strict_cookie_holding_no_key(server, merchant):
    client = browserless(server)
    answer = client.sign_in(merchant["test_secret_key"])
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    value = re.match(rf"{SESSION}=([^;]+);", cookie).group(1)
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert attributes == {"HttpOnly", "Max-Age", "Path", "SameSite"}  # no Secure over plain http
    assert "Path=/dashboard" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert merchant["test_secret_key"] not in cookie and len(value) == 43
    # The database holds the digests of the cookie's value and of the key: neither in clear.
    row = next(r for r in sessions(server) if r[2] == merchant["merchant_id"])
    assert row == (hashlib.sha256(value.encode()).hexdigest(), key_digest(merchant["test_secret_key"]), row[2], "test")
    page = client.get("/dashboard/payments")
    assert page.status_code == 200
    assert merchant["merchant_id"] in page.text
    assert merchant["test_secret_key"] not in page.text


def test_the_cookie_is_secure_behind_https(server, merchant):
    answer = browserless(server).sign_in(merchant["test_secret_key"], **{"X-Forwarded-Proto": "https"})
    assert answer.status_code == 303
    assert "Secure" in [part.strip() for part in answer.headers["set-cookie"].split(";")]


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("sk_test_nobody_has_this_key", 401, "unauthorized"),
        ("", 401, "unauthorized"),
        ("x" * 5000, 401, "unauthorized"),
        ("publishable", 403, "forbidden"),
    ],
)
def test_a_wrong_key_cannot_sign_in(server, merchant, key, status, code):
    client = browserless(server)
    if key == "publishable":
        key = merchant["test_publishable_key"]
    before = len(sessions(server))
    answer = client.sign_in(key)
    assert answer.status_code == status
    assert SESSION not in answer.headers.get("set-cookie", "")
    assert f"<code>{code}</code>" in answer.text
    if key:
        assert key[:40] not in answer.text  # the key typed is never shown back
    assert len(sessions(server)) == before
    assert client.get("/dashboard/payments").headers["location"] == "/dashboard/sign_in"


def test_every_dashboard_page_sends_a_stranger_to_sign_in(server):
    client = browserless(server)
    for path in ("/dashboard", "/dashboard/payments", "/dashboard/payments/abc", "/dashboard/requests"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/sign_in"), path
    for path in ("/dashboard/sandbox/reset", "/dashboard/webhooks", "/dashboard/payments/abc/cancel"):
        answer = client.post(path, {"confirmed": "yes"}, token="")
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/sign_in"), path
    forged = browserless(server, "made-up").get("/dashboard/payments")
    assert forged.headers["location"] == "/dashboard/sign_in"


def test_signing_out_ends_the_session_even_for_a_copied_cookie(server, dash):
    copied = dash.client.cookies[SESSION]
    answer = dash.post("/dashboard/sign_out")
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/sign_in?done=signed_out")
    assert answer.headers["set-cookie"].startswith(f'{SESSION}="";')  # and expired
    assert SESSION not in dash.client.cookies
    notice = dash.get("/dashboard/sign_in?done=signed_out", headers={"Accept-Language": "en"})
    assert '<p class="notice" role="status">You have signed out.</p>' in notice.text
    replayed = browserless(server, copied).get("/dashboard/payments")
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/dashboard/sign_in")


def test_rotated_keys_end_the_session(server, dash, merchant):
    digest = key_digest(merchant["test_secret_key"])
    server.run(server.runtime.store.run([Write("DELETE FROM api_keys WHERE key_hash = ?", (digest,))]))
    assert dash.get("/dashboard/payments").headers["location"] == "/dashboard/sign_in"


# -- CSRF ---------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(server, dash, merchant_api):
    payment = created(merchant_api, card(), capture=False)
    path = f"/dashboard/payments/{payment['id']}/capture"
    other_token = Csrf(lambda: server.runtime.vault.derive("pages-csrf")).token_for("another-browsers-cookie")
    for token in ("", "0" * 64, other_token):
        answer = dash.post(path, {"amount": "500"}, token=token)
        assert answer.status_code == 403, token
        assert "This form has expired" in text_of(answer.text) or "フォームの有効期限" in answer.text
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "authorized"
    for path, fields in (
        ("/dashboard/sandbox/reset", {"confirmed": "yes"}),
        ("/dashboard/sandbox/advance", {"amount": "1", "unit": "days", "confirmed": "yes"}),
        ("/dashboard/webhooks", {"url": "http://127.0.0.1:9/x", "secret_token": "s", "scope": "all"}),
        ("/dashboard/sign_out", {}),
    ):
        assert dash.post(path, fields, token="").status_code == 403, path
    assert merchant_api.get("/sandbox/clock").json()["offset"] == 0
    assert merchant_api.get("/webhooks").json()["total"] == 0
    assert dash.get("/dashboard/payments").status_code == 200  # still signed in


def test_signing_in_needs_the_csrf_token_too(server, merchant):
    client = browserless(server)
    client.get("/dashboard/sign_in")
    answer = client.post("/dashboard/sign_in", {"secret_key": merchant["test_secret_key"]}, token="")
    assert answer.status_code == 403
    assert SESSION not in answer.headers.get("set-cookie", "")


# -- one merchant, its own objects only ---------------------------------------------------------


def test_one_merchant_cannot_see_or_touch_anothers_objects_by_url(server, dash, merchant_api):
    other = server.new_merchant("other")
    with server.client(other["test_secret_key"]) as theirs:
        payment = created(theirs, card(), capture=False, description="theirs")
        event = theirs.get("/events").json()["data"][0]
        hook = theirs.post("/webhooks", json={"url": "http://127.0.0.1:9/theirs", "secret_token": "s"}).json()
        customer = theirs.post("/customers", json={"payment_details": card()}).json()
        for path in (
            f"/dashboard/payments/{payment['id']}",
            f"/dashboard/events/{event['id']}",
            f"/dashboard/webhooks/{hook['id']}",
            f"/dashboard/customers/{customer['id']}",
        ):
            answer = dash.get(path)
            assert answer.status_code == 404, path
            assert "theirs" not in answer.text
        for path, fields in (
            (f"/dashboard/payments/{payment['id']}/capture", {}),
            (f"/dashboard/payments/{payment['id']}/cancel", {}),
            (f"/dashboard/events/{event['id']}/redeliver", {}),
            (f"/dashboard/webhooks/{hook['id']}", {"url": "http://127.0.0.1:9/mine", "scope": "all"}),
            (f"/dashboard/webhooks/{hook['id']}/ping", {}),
            (f"/dashboard/webhooks/{hook['id']}/remove", {"confirmed": "yes"}),
        ):
            assert dash.post(path, fields).status_code == 404, path
        assert theirs.get(f"/payments/{payment['id']}").json()["status"] == "authorized"
        assert theirs.get(f"/webhooks/{hook['id']}").json()["url"] == "http://127.0.0.1:9/theirs"
        assert theirs.get(f"/events/{event['id']}/deliveries").json()["total"] == 0
    listed = dash.get("/dashboard/payments").text
    assert payment["id"] not in listed
    assert hook["id"] not in dash.get("/dashboard/webhooks").text


@pytest.mark.parametrize("path", ["/dashboard/payments/ABC", "/dashboard/payments/a%00b", "/dashboard/events/x-y"])
def test_an_id_that_is_not_ours_is_not_found(dash, path):
    assert dash.get(path).status_code == 404


def test_an_unknown_action_is_not_found(dash, merchant_api):
    payment = created(merchant_api, card(), capture=False)
    assert dash.post(f"/dashboard/payments/{payment['id']}/delete").status_code == 404


# -- escaping ---------------------------------------------------------------------------------

EVIL = "<script>alert('x')</script>\"&"


def test_every_value_is_escaped(dash, merchant_api):
    payment = created(
        merchant_api,
        card(),
        capture=False,
        description=EVIL,
        external_order_num="<b>order</b>",
        metadata={"<i>k</i>": EVIL},
    )
    refunded = created(merchant_api, card())
    merchant_api.post(f"/payments/{refunded['id']}/refund", json={"amount": 100, "description": EVIL})
    customer = merchant_api.post("/customers", json={"payment_details": card(), "metadata": {"n": EVIL}}).json()
    hook = merchant_api.post("/webhooks", json={"url": "http://127.0.0.1:9/h?q=<x>", "secret_token": "s"})
    assert hook.status_code == 200, hook.text
    pages = [
        "/dashboard/payments",
        f"/dashboard/payments/{payment['id']}",
        f"/dashboard/payments/{refunded['id']}",
        f"/dashboard/customers/{customer['id']}",
        "/dashboard/events",
        "/dashboard/webhooks",
        f"/dashboard/webhooks/{hook.json()['id']}",
    ]
    for path in pages:
        answer = dash.get(path)
        assert answer.status_code == 200, path
        assert "<script>" not in answer.text and "<b>order" not in answer.text and "<i>k" not in answer.text, path
        assert "<x>" not in answer.text, path
    shown = dash.get(f"/dashboard/payments/{payment['id']}").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&amp;" in shown
    assert EVIL in text_of(shown)
    listed = dash.get("/dashboard/payments", params={"external_order_num": EVIL}).text
    assert "<script>" not in listed
    assert 'value="&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&amp;"' in listed


# -- the actions' inputs and refusals ----------------------------------------------------------


def test_partial_capture_and_refund_from_forms(dash, merchant_api):
    payment = created(merchant_api, card(), amount=1000, capture=False)
    path = f"/dashboard/payments/{payment['id']}"
    answer = dash.post(path + "/capture", {"amount": "600"})
    assert (answer.status_code, answer.headers["location"]) == (303, path + "?done=capture")
    assert "Captured." in text_of(dash.get(answer.headers["location"], headers={"Accept-Language": "en"}).text)
    version = {"X-KOMOJU-API-VERSION": "2025-01-28"}  # the captured amounts, not the authorized ones
    after = merchant_api.get(f"/payments/{payment['id']}", headers=version).json()
    assert (after["status"], after["amount"], after["tax"]) == ("captured", 600, 60)  # tax: its share
    assert dash.post(path + "/refund", {"amount": "100", "description": "broken"}).status_code == 303
    after = merchant_api.get(f"/payments/{payment['id']}", headers=version).json()
    assert (after["status"], after["amount_refunded"], after["refunds"][0]["description"]) == (
        "captured",
        100,
        "broken",
    )
    assert dash.post(path + "/refund", {"amount": ""}).status_code == 303  # blank: all that is left
    assert merchant_api.get(f"/payments/{payment['id']}").json()["status"] == "refunded"


@pytest.mark.parametrize(
    ("action", "fields", "status", "code", "param"),
    [
        ("refund", {"amount": "abc"}, 422, "invalid_parameter", "amount"),
        ("refund", {"amount": "5000"}, 422, "not_refundable", "amount"),
        ("capture", {}, 422, "not_capturable", None),
        ("cancel", {}, 422, "not_cancellable", None),
        ("complete", {}, 422, "not_capturable", None),
    ],
)
def test_a_refused_action_shows_the_apis_error_on_the_page_and_changes_nothing(
    dash, merchant_api, action, fields, status, code, param
):
    payment = created(merchant_api, card())  # captured
    answer = dash.post(f"/dashboard/payments/{payment['id']}/{action}", fields)
    assert answer.status_code == status
    problem = re.search(r'<div class="problem" role="alert">(.*?)</div>', answer.text, re.S).group(1)
    assert re.findall(r"<code>([^<]*)</code>", problem) == [code] + ([param] if param else [])
    assert merchant_api.get(f"/payments/{payment['id']}").json() == payment


def test_complete_and_fail_a_konbini_slip(dash, merchant_api):
    paid = created(merchant_api, konbini())
    unpaid = created(merchant_api, konbini())
    assert paid["status"] == "authorized"
    assert dash.post(f"/dashboard/payments/{paid['id']}/complete").status_code == 303
    assert dash.post(f"/dashboard/payments/{unpaid['id']}/fail").status_code == 303
    assert merchant_api.get(f"/payments/{paid['id']}").json()["status"] == "captured"
    assert merchant_api.get(f"/payments/{unpaid['id']}").json()["status"] == "failed"


REFUND_BANK = BANK_ACCOUNT


def test_complete_or_reject_a_refund_request_from_its_payments_page(dash, merchant_api):
    payment = created(merchant_api, konbini(), amount=1000)
    path = f"/dashboard/payments/{payment['id']}"
    assert merchant_api.post(f"/sandbox/payments/{payment['id']}/complete").status_code == 200
    assert merchant_api.post(f"/payments/{payment['id']}/refund_request", json={**REFUND_BANK, "amount": 300})
    asked = merchant_api.post(f"/payments/{payment['id']}/refund_request", json={**REFUND_BANK, "amount": 500})
    first, second = (r["id"] for r in asked.json()["refund_requests"])
    page = dash.get(path, headers={"Accept-Language": "en"}).text
    # One pair of buttons per pending request, each form with its CSRF token and the request's id.
    forms = re.findall(r'<form method="post" action="([^"]+)" class="action">(.*?)</form>', page, re.S)
    settling = [
        (action, re.search(r'name="refund_request" value="([^"]+)"', body).group(1))
        for action, body in forms
        if action.endswith("_refund_request")
    ]
    assert settling == [
        (path + "/complete_refund_request", first),
        (path + "/reject_refund_request", first),
        (path + "/complete_refund_request", second),
        (path + "/reject_refund_request", second),
    ]
    assert all(f'name="{FIELD}"' in body for action, body in forms if action.endswith("_refund_request"))
    answer = dash.post(path + "/complete_refund_request", {"refund_request": first})
    assert (answer.status_code, answer.headers["location"]) == (303, path + "?done=complete_refund_request")
    done = dash.get(answer.headers["location"], headers={"Accept-Language": "en"}).text
    assert "Refund request completed: refunded." in text_of(done)
    assert dash.post(path + "/reject_refund_request", {"refund_request": second}).status_code == 303
    after = merchant_api.get(f"/payments/{payment['id']}").json()
    assert [r["status"] for r in after["refund_requests"]] == ["completed", "rejected"]
    assert (after["status"], after["amount_refunded"]) == ("captured", 300)
    assert "/complete_refund_request" not in dash.get(path).text  # nothing pending: no buttons
    # Done once only: the page shows KOMOJU's error and nothing changes.
    again = dash.post(path + "/reject_refund_request", {"refund_request": first})
    assert again.status_code == 422
    assert "<code>unprocessable_entity</code>" in again.text
    assert dash.post(path + "/reject_refund_request", {"refund_request": "nope!"}).status_code == 404
    assert merchant_api.get(f"/payments/{payment['id']}").json() == after


def test_the_list_answers_a_bad_filter_with_the_apis_error(dash):
    answer = dash.get("/dashboard/payments?status=lost&per_page=5")
    assert answer.status_code == 422
    assert "<code>invalid_parameter</code>" in answer.text and "<code>status</code>" in answer.text
    assert dash.get("/dashboard/payments?per_page=101").status_code == 422


# -- live mode ------------------------------------------------------------------------------------


def test_a_live_key_opens_live_mode_without_the_sandbox(server, merchant):
    client = browserless(server)
    assert client.sign_in(merchant["live_secret_key"]).status_code == 303
    page = client.get("/dashboard/payments")
    assert page.status_code == 200
    assert 'href="/dashboard/sandbox"' not in page.text and 'class="test-mode"' not in page.text
    refused = client.post("/dashboard/sandbox/reset", {"confirmed": "yes"})
    assert refused.status_code == 403
    assert "<code>forbidden</code>" in refused.text


# -- recent requests -------------------------------------------------------------------------------


def test_recent_requests_show_method_path_status_and_request_id_only(server, dash, merchant, merchant_api):
    seen = [
        merchant_api.get("/payments", params={"external_order_num": "private@example.com"}),
        merchant_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": {"type": "x"}}),
        merchant_api.get("/payments/notapaymentid"),
        merchant_api.post("/payments", json={"amount": 1000, "currency": "JPY", "payment_details": card()}),
    ]
    with server.client("sk_test_unknown_key") as stranger:
        assert stranger.get("/payments").status_code == 401
    with server.client(server.new_merchant()["test_secret_key"]) as another:
        another.get("/payments/anotherstrangerspayment")
    page = dash.get("/dashboard/requests")
    assert page.status_code == 200
    rows = re.findall(
        r'<tr class="request" data-request-id="([^"]+)">\s*<td><time>([^<]+)</time></td>\s*<td>([A-Z]+)</td>\s*'
        r'<td><code>([^<]+)</code></td>\s*<td class="num"><span class="http-status [^"]+">(\d+)</span>',
        page.text,
    )
    expected = [
        (answer.headers["x-request-id"], answer.request.method, answer.request.url.path, str(answer.status_code))
        for answer in reversed(seen)
    ]
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == expected
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r[1]) for r in rows)
    assert "private@example.com" not in page.text and "strangers" not in page.text
    assert merchant["test_secret_key"] not in page.text and "4111111111111111" not in page.text


def test_sessions_are_listed_with_their_payment_and_another_merchants_are_not_found(server, dash, merchant_api):
    paid = merchant_api.post("/sessions", json={"amount": 1500, "currency": "JPY"}).json()
    pay = merchant_api.post(f"/sessions/{paid['id']}/pay", json={"payment_details": card()})
    assert pay.status_code == 200, pay.text
    payment_id = pay.json()["payment"]["id"]
    waiting = merchant_api.post("/sessions", json={"amount": 700, "currency": "JPY"}).json()

    listed = dash.get("/dashboard/sessions")
    assert listed.status_code == 200
    rows = re.findall(r'<tr data-session="([a-z0-9]+)">(.*?)</tr>', listed.text, flags=re.S)
    assert [session_id for session_id, _ in rows] == [waiting["id"], paid["id"]]  # newest first
    assert "¥700" in text_of(rows[0][1]) and "pending" in text_of(rows[0][1])
    assert "¥1,500" in text_of(rows[1][1]) and "completed" in text_of(rows[1][1]) and payment_id in rows[1][1]

    item = dash.get(f"/dashboard/sessions/{paid['id']}")
    assert item.status_code == 200
    assert f'href="/dashboard/payments/{payment_id}"' in item.text
    assert f'href="{paid["session_url"]}"' in item.text

    other = server.new_merchant("other")
    with server.client(other["test_secret_key"]) as theirs:
        their_session = theirs.post("/sessions", json={"amount": 900, "currency": "JPY"}).json()
    assert dash.get(f"/dashboard/sessions/{their_session['id']}").status_code == 404
    assert their_session["id"] not in dash.get("/dashboard/sessions").text


def test_recent_requests_show_a_clients_path_and_request_id_escaped(dash, merchant_api):
    """Both come from the client: written one token each, as the console prints them."""
    answer = merchant_api.get("/payments/x%0aFAKE%00line", headers={"X-Request-Id": "evil id"})
    assert answer.status_code == 404
    page = dash.get("/dashboard/requests").text
    assert 'data-request-id="evil\\x20id"' in page
    assert "/api/v1/payments/x\\nFAKE\\x00line" in page
    assert "x\nFAKE" not in page and "evil id" not in page
