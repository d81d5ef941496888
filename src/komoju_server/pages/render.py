"""Rendering a page: templates, words, CSRF, redirects and the HTML error page.

One `Pages` is made at start-up and handed to every page module. Its answers forbid scripts,
frames and anything from another origin (Content-Security-Policy), are never cached (they show
a payment's state), and don't leak their URL, whose id is the page's only key, to other sites.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import falcon
import falcon.asgi
import jinja2
from markupsafe import Markup

from komoju_server.api.forms import decode_form
from komoju_server.api.requests import cut_off
from komoju_server.domain.clock import JST
from komoju_server.domain.errors import ApiError
from komoju_server.domain.money import CURRENCIES
from komoju_server.pages import locale as locales
from komoju_server.pages.csrf import COOKIE, FIELD, Csrf
from komoju_server.pages.messages import Messages

HTML = "text/html; charset=utf-8"
MAX_FORM_BYTES = 64 * 1024
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# A Falcon status code -> the words of the error page.
ERROR_MESSAGES = {403: "common.form_expired", 404: "common.not_found", 409: "common.conflict"}


class PageError(Exception):
    """Ends a page's request with the error page: `status` and the key of its message."""

    def __init__(self, status: int, key: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.key = key or ERROR_MESSAGES.get(status, "common.failed")


def money(amount: int, currency: str) -> str:
    """1000 JPY -> "¥1,000"; 1050 USD -> "$10.50" (amounts are in the currency's minor unit)."""
    digits = CURRENCIES.get(currency, 0)
    major = f"{amount / 10**digits:,.{digits}f}" if digits else f"{amount:,}"
    symbol = {"JPY": "¥", "KRW": "₩", "USD": "$", "EUR": "€", "TWD": "NT$"}.get(currency)
    return f"{symbol}{major}" if symbol else f"{major} {currency}"


def jst(seconds: int | None) -> str:
    """A time as Japan shows it on slips: 2026-12-03 23:59 (JST)."""
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, JST).strftime("%Y-%m-%d %H:%M (JST)")


class Pages:
    def __init__(self, csrf: Csrf, messages: Messages) -> None:
        self.csrf = csrf
        self.messages = messages
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("komoju_server.pages", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty string
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["money"] = money
        self._env.filters["jst"] = jst

    @classmethod
    def build(cls, derive: Callable[[str], bytes]) -> Pages:
        return cls(Csrf(lambda: derive("pages-csrf")), Messages.load())

    def locale(self, req: falcon.asgi.Request, merchants: str | None = None) -> str:
        return locales.choose(req.get_param("locale"), merchants, req.get_header("Accept-Language"))

    def render(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        template: str,
        locale: str,
        status: int = 200,
        **context: Any,
    ) -> None:
        token = self._csrf_token(req, resp)
        resp.status = status
        resp.content_type = HTML
        resp.set_headers(HEADERS)
        resp.text = self._env.get_template(template).render(
            t=self.messages.translator(locale),
            locale=locale,
            locales=locales.LOCALES,
            path=req.path,
            csrf_field=lambda: Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token),
            **context,
        )

    async def form(self, req: falcon.asgi.Request) -> Mapping[str, Any]:
        """The posted form, once its CSRF token is checked; a form from elsewhere is refused."""
        body = await req.bounded_stream.read(MAX_FORM_BYTES + 1)
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413)
        if cut_off(req.scope):  # the browser went away halfway: nobody sees this, nothing is done
            raise PageError(400)
        try:
            fields = decode_form(body.decode("utf-8"))
        except (UnicodeDecodeError, ApiError):  # not UTF-8, or a malformed form (api.forms.BodyError)
            raise PageError(400) from None
        if not self.csrf.valid(req.cookies.get(COOKIE), fields.get(FIELD)):
            raise PageError(403)
        return fields

    @staticmethod
    def redirect(resp: falcon.asgi.Response, url: str) -> None:
        """See Other: the browser GETs `url` (a merchant's return_url or one of our pages)."""
        resp.status = 303
        resp.location = url
        resp.set_headers(HEADERS)

    def error(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, status: int, key: str | None = None) -> None:
        error = PageError(status, key)
        self.render(req, resp, "error.html", self.locale(req), status=status, message=error.key)

    def _csrf_token(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> str:
        cookie = req.cookies.get(COOKIE)
        if not cookie:
            cookie = self.csrf.new_cookie()
            resp.set_cookie(
                COOKIE,
                cookie,
                http_only=True,
                same_site="Lax",
                secure=req.forwarded_scheme == "https",
                path="/",
            )
        return self.csrf.token_for(cookie)
