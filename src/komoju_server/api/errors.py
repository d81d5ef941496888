"""Every failure leaves as KOMOJU's JSON error envelope: never an HTML page or a stack trace."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import falcon
import falcon.asgi

from komoju_server.api.responses import send
from komoju_server.domain import idempotency
from komoju_server.domain.errors import ApiError
from komoju_server.services.throttle import Throttled
from komoju_server.store import Conflict, StoreUnavailable
from komoju_server.store import idempotency as idempotency_table

log = logging.getLogger("komoju_server")

# While the database cannot be reached. The store logs the outage once when it starts and once
# when it ends, so a request answered this way logs nothing of its own.
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again later."
RETRY_AFTER_SECONDS = "1"

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    401: "unauthorized",
    403: "forbidden",
    503: "service_unavailable",
}


class ErrorAnswer(NamedTuple):
    """What a failure is answered with on the API, whichever way the request came (Falcon's
    error handlers below, or api/direct.py): a status, KOMOJU's envelope and extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def answer_for(error: Exception, request_id: str, method: str, path: str) -> ErrorAnswer:
    """The API's answer to a failure: ApiError's envelope, 503 while the database is away,
    409 when an idempotency key was taken over, else a logged 500."""
    if isinstance(error, ApiError):
        headers: tuple[tuple[str, str], ...] = ()
        if error.status == 413:  # the rest of the body is not read: this connection cannot carry another request
            headers = (("Connection", "close"),)
        if isinstance(error, Throttled):
            headers = (("Retry-After", str(error.retry_after)),)
        return ErrorAnswer(error.status, error.body(), headers)
    if isinstance(error, StoreUnavailable):
        body = ApiError("service_unavailable", message=UNAVAILABLE_MESSAGE).body()
        return ErrorAnswer(503, body, (("Retry-After", RETRY_AFTER_SECONDS),))
    if isinstance(error, Conflict) and error.write.label == idempotency_table.ANSWER_LABEL:
        # The key was taken over while this request ran (its lease ran out): its change rolled
        # back, and the request that took the key over is the one that counts.
        return ErrorAnswer(409, idempotency.conflict().body())
    _log_unexpected(error, request_id, method, path)
    return ErrorAnswer(500, ApiError("internal_server_error").body())


def _log_unexpected(error: Exception, request_id: str, method: str, path: str) -> None:
    # Logged once, with the request id and the exception's type and place only: never the
    # request body or the exception's message, which may hold card data.
    log.error("request %s %s %s failed: %s at %s", request_id, method, path, type(error).__name__, _where(error))


def _page(req: falcon.asgi.Request) -> Any:
    """The pages' renderer when the request is for a page (pages/__init__.py marks it), else None."""
    return getattr(req.context, "pages", None)


def _send(resp: falcon.asgi.Response, answer: ErrorAnswer) -> None:
    send(resp, answer.body, answer.status)
    for name, value in answer.headers:
        resp.set_header(name, value)


def _answer(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: Exception) -> None:
    _send(resp, answer_for(error, getattr(req.context, "request_id", "-"), req.method, req.path))


async def api_error(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: ApiError, params: Any) -> None:
    if pages := _page(req):
        pages.error(req, resp, error.status)
        return
    _answer(req, resp, error)


async def store_unavailable(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, error: StoreUnavailable, params: Any
) -> None:
    if pages := _page(req):
        pages.error(req, resp, 503)
        resp.set_header("Retry-After", RETRY_AFTER_SECONDS)
        return
    _answer(req, resp, error)


async def http_error(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, error: falcon.HTTPError, params: Any
) -> None:
    status = error.status_code
    if pages := _page(req):
        pages.error(req, resp, status if 400 <= status < 500 else 500)
        return
    code = _HTTP_CODES.get(status, "bad_request")
    send(resp, ApiError(code).body(), status if status in _HTTP_CODES or status < 500 else 400)
    if status == 405 and error.headers:
        for name, value in error.headers.items():
            resp.set_header(name, value)


async def unexpected(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: Exception, params: Any) -> None:
    if pages := _page(req):
        _log_unexpected(error, getattr(req.context, "request_id", "-"), req.method, req.path)
        pages.error(req, resp, 500)
        return
    _answer(req, resp, error)


async def conflict(req: falcon.asgi.Request, resp: falcon.asgi.Response, error: Conflict, params: Any) -> None:
    if error.write.label == idempotency_table.ANSWER_LABEL:
        _answer(req, resp, error)
        return
    await unexpected(req, resp, error, params)


def _where(error: Exception) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def install(app: falcon.asgi.App) -> None:
    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(falcon.HTTPError, http_error)
    app.add_error_handler(ApiError, api_error)
    app.add_error_handler(StoreUnavailable, store_unavailable)
    app.add_error_handler(Conflict, conflict)
