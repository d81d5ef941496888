"""Pages for people, outside /api/v1: server-rendered HTML with no script and nothing fetched
from elsewhere (the stylesheet is served from this package), in Japanese, English and Korean.

How to add a page:

1. A module here with its resources and an `add_routes(app, runtime, pages)`, called from
   `add_routes` below. A resource sets `access = None` (no API key: a page is found by its
   unguessable id) and `page = True` (its failures render the HTML error page, not JSON).
2. Templates in `templates/`, each extending `layout.html` (blocks `title` and `main`).
   Everything is escaped by Jinja2's autoescape; never mark a value `|safe`.
3. Its words in `messages/<module>.json`: `{"key": {"ja": ..., "en": ..., "ko": ...}}`, used in
   templates as `t("<module>.key")` (tests/pages/test_foundation.py checks every key has all
   three languages). `common.json` has the words every page shares.
4. A form posts back to the page with `{{ csrf_field() }}` inside it; the resource reads it
   with `await pages.form(req)`, which refuses a missing or wrong token (403 page).
5. It leaves with `pages.redirect(resp, url)` only to a URL the merchant gave for this payment
   or session (its `return_url`), or to another of our pages: never to a URL from the request.
6. Browser tests in `tests/pages/test_<module>.py`, driving headless Chromium through the
   fixtures of tests/pages/conftest.py.
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from komoju_server.pages.render import PageError, Pages
from komoju_server.runtime import Runtime


class PageRequests:
    """Marks a request for a page, so that whatever fails in it answers the HTML error page
    (api/errors.py asks `req.context.pages`) instead of the API's JSON envelope."""

    def __init__(self, pages: Pages) -> None:
        self._pages = pages

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.pages = None

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, params: dict[str, Any]
    ) -> None:
        if getattr(resource, "page", False):
            req.context.pages = self._pages


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> Pages:
    from komoju_server.pages import assets, dashboard, three_d_secure

    pages = Pages.build(runtime.vault.derive)
    app.add_middleware(PageRequests(pages))

    async def page_error(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: PageError, params: Any) -> None:
        pages.error(req, resp, error.status, error.key)

    app.add_error_handler(PageError, page_error)
    assets.add_routes(app)
    from komoju_server.pages import instructions, offsite, session

    session.add_routes(app, runtime, pages)
    three_d_secure.add_routes(app, runtime, pages)
    instructions.add_routes(app, runtime, pages)
    offsite.add_routes(app, runtime, pages)
    dashboard.add_routes(app, runtime, pages)
    return pages
