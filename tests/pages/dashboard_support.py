"""What the dashboard's tests share: a browser-less client that signs in and posts forms the way
the pages do (with the CSRF token of its own cookie), and reading the pages' HTML."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

TOKEN = re.compile(r'name="authenticity_token" value="([^"]+)"')


def token_in(page: str) -> str:
    found = TOKEN.search(page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browserless:
    """A client of the dashboard as a browser without scripts is: cookies, forms, See Other."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def sign_in(self, key: str, **headers: str) -> httpx.Response:
        page = self.client.get("/dashboard/sign_in")
        assert page.status_code == 200, page.text
        self.token = token_in(page.text)
        return self.client.post(
            "/dashboard/sign_in", data={"authenticity_token": self.token, "secret_key": key}, headers=headers
        )

    def post(self, path: str, data: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        """A form post, with the CSRF token unless told otherwise (`token=""` sends none)."""
        fields = dict(data or {})
        token = self.token if token is None else token
        if token:
            fields["authenticity_token"] = token
        return self.client.post(path, data=fields)


def text_of(page: str) -> str:
    """The page's text: tags dropped, entities decoded, spaces folded."""
    without_tags = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


def sign_in(page: Any, base_url: str, key: str) -> None:
    """Signs in through the sign-in page, as a person does, and lands on the payments."""
    page.goto(base_url + "/dashboard")
    assert page.url == base_url + "/dashboard/sign_in"
    page.locator("#secret_key").fill(key)
    page.locator("form[action='/dashboard/sign_in'] button[type=submit]").click()
    page.wait_for_url(base_url + "/dashboard/payments")
