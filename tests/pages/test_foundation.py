"""The pages' foundation: words in every language, locale choice, CSRF, the error page, and what
every page's answer carries (no script, nothing from elsewhere, never cached)."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest

from komoju_server.pages.csrf import Csrf
from komoju_server.pages.locale import choose
from komoju_server.pages.messages import Messages
from komoju_server.pages.render import HEADERS, money
from tests.inprocess import InProcessServer

_KEY_IN_TEMPLATE = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']\s*[,)]""")  # literal keys only


def test_every_message_has_japanese_english_and_korean() -> None:
    messages = Messages.load()
    assert "common.not_found" in messages.keys
    assert messages.missing() == []


def test_every_key_a_template_names_exists() -> None:
    known = set(Messages.load().keys)
    used = {
        (name, key)
        for name, entry in _templates(resources.files("komoju_server.pages") / "templates")
        for key in _KEY_IN_TEMPLATE.findall(entry.read_text("utf-8"))
    }
    assert used, "the templates name no message keys"
    assert sorted(pair for pair in used if pair[1] not in known) == []


def _templates(folder, prefix: str = "") -> list:
    """Every template, in sub-folders too, with its name as the loader knows it."""
    found = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _templates(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".html"):
            found.append((prefix + entry.name, entry))
    return found


def test_a_text_takes_fields() -> None:
    t = Messages({"x.pay_by": {"ja": "{date}までに", "en": "by {date}", "ko": "{date}까지"}}).translator("en")
    assert t("x.pay_by", date="2026-12-03") == "by 2026-12-03"
    with pytest.raises(KeyError):
        t("x.unknown")


@pytest.mark.parametrize(
    ("asked", "merchants", "header", "chosen"),
    [
        ("ko", "en", "ja", "ko"),  # the customer's own choice wins
        (None, "en", "ko-KR,ko;q=0.9", "en"),  # then the merchant's for this payment
        ("fr", None, "fr-FR, en-US;q=0.8, ko;q=0.9", "ko"),  # then the browser's, by weight
        (None, None, "en-GB;q=0.5, de", "en"),
        (None, None, "de, fr;q=0.5", "ja"),  # then Japanese
        (None, None, None, "ja"),
        (None, None, "en;q=0", "ja"),  # q=0 means "not this one"
        (None, None, "en;q=x", "ja"),
    ],
)
def test_the_locale(asked: str | None, merchants: str | None, header: str | None, chosen: str) -> None:
    assert choose(asked, merchants, header) == chosen


def test_csrf_token_is_bound_to_the_cookie_and_the_key() -> None:
    csrf = Csrf(lambda: b"k" * 32)
    cookie = csrf.new_cookie()
    token = csrf.token_for(cookie)
    assert csrf.valid(cookie, token)
    assert not csrf.valid(csrf.new_cookie(), token)  # another browser's token
    assert not csrf.valid(cookie, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not csrf.valid(None, token)
    assert not csrf.valid(cookie, None)
    assert not csrf.valid(cookie, ["list"])
    assert not Csrf(lambda: b"j" * 32).valid(cookie, token)  # another deployment's key


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [(1000, "JPY", "¥1,000"), (1234567, "KRW", "₩1,234,567"), (1050, "USD", "$10.50"), (5, "EUR", "€0.05")],
)
def test_money_is_shown_in_the_major_unit(amount: int, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


def test_a_page_fails_as_a_page_and_the_api_as_json(server: InProcessServer) -> None:
    with httpx.Client(transport=server.transport, base_url=server.url) as client:
        page = client.get("/assets/missing.css", headers={"Accept-Language": "ko"})
        api = client.get("/api/v1/payments/missing", auth=(server.secret_key, ""))
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "이 페이지를 찾을 수 없습니다." in page.text
    assert page.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_the_stylesheet_is_served_from_the_package(server: InProcessServer) -> None:
    with httpx.Client(transport=server.transport, base_url=server.url) as client:
        css = client.get("/assets/pages.css")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert "@import" not in css.text and "url(" not in css.text  # nothing fetched from elsewhere
