"""Every page's frame in a real browser: the layout, the stylesheet, the language switch, and
nothing fetched from another origin."""

from __future__ import annotations

from typing import Any

from tests.support import ServerProcess


def test_the_error_page_in_chromium_switches_language_and_fetches_nothing_from_elsewhere(
    site: ServerProcess, page: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    answer = page.goto(site.url + "/assets/missing.css")
    assert answer.status == 404
    assert page.locator("h1").inner_text() == "Something went wrong"
    assert page.get_by_role("alert").inner_text() == "This page does not exist."
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # the stylesheet applied
    page.get_by_role("link", name="日本語").click()
    assert page.get_by_role("alert").inner_text() == "このページは見つかりません。"
    assert page.locator("html").get_attribute("lang") == "ja"
    assert requested and all(url.startswith(site.url + "/") for url in requested)
