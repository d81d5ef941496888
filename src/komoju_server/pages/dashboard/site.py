"""What every dashboard page shares: who is signed in, its language, rendering in the dashboard's
frame, forms, errors, paging.

A dashboard page is a resource with `access = None` (no API key: the session cookie says who
it is) and `page = True` (its failures render the HTML error page). It asks `caller(req)`
first: without a live session the browser is sent to the sign-in page.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api import requests
from komoju_server.api.responses import page_params
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.params import object_id
from komoju_server.pages.dashboard import timeline
from komoju_server.pages.dashboard.timeline import pretty
from komoju_server.pages.locale import LOCALES
from komoju_server.pages.render import PageError, Pages
from komoju_server.runtime import Runtime

BASE = "/dashboard"
SIGN_IN = BASE + "/sign_in"
SESSION_COOKIE = "komoju_dashboard"
LOCALE_COOKIE = "komoju_dashboard_locale"
LOCALE_SECONDS = 365 * 86_400
PER_PAGE = 20


class SignInFirst(Exception):
    """No live dashboard session: the browser goes to the sign-in page."""


@dataclass(frozen=True)
class Section:
    """One entry of the dashboard's navigation: its words are `dashboard.nav_<name>`, its list
    lives at /dashboard/<name>, its module is `pages/dashboard/<name>.py`."""

    name: str
    test_only: bool = False  # shown (and served) in test mode only

    @property
    def path(self) -> str:
        return f"{BASE}/{self.name}"


@dataclass(frozen=True)
class Problem:
    """An error answered by a service, as a page shows it: its words when the dashboard has
    them (`dashboard.error_<code>`), and always KOMOJU's code and param."""

    code: str
    param: str | None
    key: str
    message: str  # the API's own (English) message


@dataclass(frozen=True)
class Pager:
    total: int
    page: int
    per_page: int
    previous: str | None
    next: str | None

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.per_page))


class Dashboard:
    def __init__(self, runtime: Runtime, pages: Pages, sections: Sequence[Section]) -> None:
        self.rt = runtime
        self.pages = pages
        self.sections = tuple(sections)
        self._known_errors = {key for key in pages.messages.keys if key.startswith("dashboard.error_")}
        self._notices = {key for key in pages.messages.keys if key.startswith("dashboard.done_")}

    # -- who, and in which language ------------------------------------------------------------

    async def caller(self, req: falcon.asgi.Request) -> Caller:
        caller = await self.rt.dashboard_sessions.caller(req.cookies.get(SESSION_COOKIE))
        if caller is None:
            raise SignInFirst()
        return caller

    def locale(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> str:
        """?locale= (remembered in a cookie), then the remembered choice, then the browser's."""
        asked = req.get_param("locale")
        if asked in LOCALES:
            resp.set_cookie(
                LOCALE_COOKIE,
                asked,
                max_age=LOCALE_SECONDS,
                path=BASE,
                http_only=True,
                same_site="Lax",
                secure=secure(req),
            )
        return self.pages.locale(req, req.cookies.get(LOCALE_COOKIE))

    # -- answering -----------------------------------------------------------------------------

    def render(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        caller: Caller | None,
        template: str,
        status: int = 200,
        section: str | None = None,
        here: str | None = None,
        **context: Any,
    ) -> None:
        """A page in the dashboard's frame. `here` is the page the language links lead back to
        (for an answer to a form, the page the form was on); by default the request's path."""
        mode = caller.mode if caller else None
        # `?done=<what>` after a form's See Other: its notice, when there is one by that name.
        notice = f"dashboard.done_{req.get_param('done')}"
        self.pages.render(
            req,
            resp,
            template,
            self.locale(req, resp),
            status=status,
            caller=caller,
            test_mode=mode == "test",
            sections=[s for s in self.sections if mode == "test" or not s.test_only],
            section=section,
            lang_path=here or req.path,
            notice=notice if notice in self._notices and req.method == "GET" else None,
            pretty=pretty,
            sent=timeline.request_sent,
            answered=timeline.answer_received,
            **context,
        )

    async def form(self, req: falcon.asgi.Request) -> Mapping[str, Any]:
        """The posted form, its CSRF token checked (403 page otherwise)."""
        return await self.pages.form(req)

    def redirect(self, resp: falcon.asgi.Response, path: str, **query: str) -> None:
        """See Other, to one of the dashboard's own pages (never a URL from the request)."""
        assert path.startswith(BASE)
        self.pages.redirect(resp, path + ("?" + urllib.parse.urlencode(query) if query else ""))

    def problem(self, error: ApiError) -> Problem:
        key = f"dashboard.error_{error.code}"
        return Problem(
            error.code, error.param, key if key in self._known_errors else "dashboard.error_other", error.message
        )

    # -- reading requests ----------------------------------------------------------------------

    @staticmethod
    def query(req: falcon.asgi.Request) -> dict[str, Any]:
        try:
            return requests.query(req)
        except ApiError:
            raise PageError(400) from None

    def pager(
        self, req: falcon.asgi.Request, query: Mapping[str, Any], total: int, number: int, per_page: int
    ) -> Pager:
        """Links to the pages before and after, keeping the list's filters."""
        kept = {k: str(v) for k, v in query.items() if k not in ("page", "locale") and isinstance(v, str) and v}

        def link(to: int) -> str:
            return req.path + "?" + urllib.parse.urlencode({**kept, "page": str(to)})

        last = max(1, -(-total // per_page))
        return Pager(
            total,
            number,
            per_page,
            link(number - 1) if number > 1 else None,
            link(number + 1) if number < last else None,
        )

    @staticmethod
    def paging(query: Mapping[str, Any]) -> tuple[int, int]:
        """`page` and `per_page` of a list (the API's rules; the dashboard shows 20 by default)."""
        number, per_page = page_params({"per_page": str(PER_PAGE), **query})
        return number, per_page


def checked_id(value: str) -> str:
    """An id from the path: one of ours (lowercase letters and digits), or this page is not found."""
    if not object_id(value):
        raise PageError(404)
    return value


def secure(req: falcon.asgi.Request) -> bool:
    return req.forwarded_scheme == "https"


class DashboardPage:
    access = None  # the session cookie says who it is, not an API key
    page = True

    def __init__(self, dashboard: Dashboard) -> None:
        self.dash = dashboard
        self.rt = dashboard.rt


Fetch = Callable[[Caller, Mapping[str, Any], int, int], Awaitable[tuple[int, Sequence[Any]]]]


class ListPage(DashboardPage):
    """A list with paging (and the filters `fetch` reads from the query): `fetch(caller, query,
    page, per_page)` answers (total, rows); a filter the API would refuse shows its error."""

    section = ""
    template = ""
    filters: tuple[str, ...] = ()

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        raise NotImplementedError

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        query = self.dash.query(req)
        problem: Problem | None = None
        rows: Sequence[Any] = ()
        pager: Pager | None = None
        try:
            number, per_page = self.dash.paging(query)
            total, rows = await self.fetch(caller, query, number, per_page)
            pager = self.dash.pager(req, query, total, number, per_page)
        except ApiError as error:
            problem = self.dash.problem(error)
        self.dash.render(
            req,
            resp,
            caller,
            self.template,
            status=422 if problem else 200,
            section=self.section,
            rows=rows,
            pager=pager,
            problem=problem,
            filters={name: text(query.get(name)) for name in self.filters},
            **self.context(),
        )

    def context(self) -> dict[str, Any]:
        """What else the list's template needs."""
        return {}


def text(value: Any) -> str:
    """A query or form value as text ("" when absent or not text)."""
    return value if isinstance(value, str) else ""
