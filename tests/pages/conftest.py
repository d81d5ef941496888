"""Fixtures for the pages' tests: a real server, a webhook receiver, and headless Chromium.

Pages are for people, so they are tested as a person uses them: in Debian's Chromium
(/usr/bin/chromium, installed by scripts/browser), driven by Playwright; Playwright's own
browser download is never used. The server is a real process on SQLite: what a page does to a
payment goes through the same services the API tests run on both databases.

- `site`: the server (`site.url`, `site.secret_key`, `site.publishable_key`), one per run.
- `site_api`: a client of its /api/v1 with the secret key.
- `hooks`: a webhook receiver registered on the site; `hooks.wait_event(type, resource_id)`.
- `page`: a fresh browser page (its own cookies), English unless the test says otherwise
  (`browser_context(locale="ja-JP")` makes another).

Chromium starts once per test module, not per run: while Playwright's sync API lives it marks
its event loop as running in this thread, so `asyncio.run()` (tests/support.with_store, the
in-process server's set-up) fails in any test run meanwhile. In a module that uses the browser,
talk to the server over HTTP only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess
from tests.webhooks.harness import Receiver

CHROMIUM = "/usr/bin/chromium"
# As the machine's own check starts it: no sandbox as root, and no background connections
# (this machine's network is closed, and a test must not reach out anyway).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOOK_PATH = "/pages-hooks"
HOOK_SECRET = "pages-webhook-secret"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("pages") / "pages.db"
    server = ServerProcess.start(f"sqlite:///{database}", secret_key="sk_test_pages", publishable_key="pk_test_pages")
    yield server
    server.stop()


@pytest.fixture
def site_api(site: ServerProcess) -> Iterator[httpx.Client]:
    with site.client(site.secret_key) as client:
        yield client


class Hooks:
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def events(self, resource_id: str) -> list[dict[str, Any]]:
        """The events delivered so far about one payment (or other resource), oldest first."""
        return [
            received.event
            for received in self.receiver.received(HOOK_PATH)
            if received.signed and json.loads(received.body)["data"].get("id") == resource_id
        ]

    def wait_event(self, event_type: str, resource_id: str) -> dict[str, Any]:
        def seen(_: object) -> bool:
            return any(event["type"] == event_type for event in self.events(resource_id))

        self.receiver.wait_for(seen)
        return next(event for event in self.events(resource_id) if event["type"] == event_type)


@pytest.fixture(scope="session")
def hooks(site: ServerProcess) -> Iterator[Hooks]:
    receiver = Receiver()
    with site.client(site.secret_key) as client:
        answer = client.post(
            "/webhooks", json={"url": receiver.url(HOOK_PATH, HOOK_SECRET), "secret_token": HOOK_SECRET}
        )
        assert answer.status_code == 200, answer.text
    yield Hooks(receiver)
    receiver.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/browser installs it (scripts/test runs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Callable[..., Any]]:
    """Makes browser contexts (each with its own cookies), closed after the test."""
    made: list[Any] = []

    def make(locale: str = "en-US", **options: Any) -> Any:
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(browser_context: Callable[..., Any]) -> Any:
    return browser_context().new_page()
