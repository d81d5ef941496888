"""A live processor that forwards every call to an upstream KOMOJU-compatible API.

The upstream is KOMOJU itself, or another komoju-server: `{url}/api/v1/...` with HTTP Basic
auth (the upstream secret key as the user name). Every call carries the intent's key as
`X-KOMOJU-IDEMPOTENCY`, and its body is built only from the request's own fields, always in
the same byte order, so asking again with one key (recovery) gets the upstream's first answer
replayed instead of a second payment, capture or refund.

How an upstream answer maps onto the processor contract (`processors/base.py`):
- 2xx with a payment: a `PaymentResult` (the upstream payment's `id` is the reference);
- KOMOJU's error envelope with a code this server knows and a 4xx or 502-504 status: the same
  `ApiError` (a decline answers the client exactly as the upstream did);
- 500, 502 `bad_gateway`, or any 5xx without a KOMOJU envelope, a timeout, a connection cut after sending,
  a body that is not JSON or not a payment: `Unanswered(sent=True)`, the outcome is unknown;
- a connection that could not be made: `Unanswered(sent=False)`, nothing reached it;
- 409 `conflict` (the same key is still running upstream, e.g. recovery overtook a slow
  first call): waited out briefly, then `Unanswered(sent=True)`.

The upstream key never leaves this object: it is not logged, and no error or reason names it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from komoju_server.domain import clock, versions
from komoju_server.domain.errors import ERRORS, ApiError
from komoju_server.processors.base import (
    STATUSES,
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    PaymentResult,
    RefundRequest,
    RefundResult,
    TokenResult,
    TopUpRequest,
    Unanswered,
)

log = logging.getLogger("komoju_server")

NAME = "komoju"
IDEMPOTENCY_HEADER = "X-KOMOJU-IDEMPOTENCY"
DEFAULT_TIMEOUT = 30.0  # seconds for one call; a card authorization upstream can take a while
CONNECT_TIMEOUT = 5.0
# Shorter than uvicorn's (and most servers') 5-second keep-alive, so a pooled connection is
# not reused just as the upstream closes it: that race would look like an answer lost after
# sending, an outcome needlessly unknown.
KEEPALIVE_EXPIRY = 2.0
CONFLICT_WAITS = (0.2, 0.5, 1.0)  # seconds waited on a 409 before calling the outcome unknown
# Codes that are about our own access to the upstream, not about the payment: answered as a
# bad gateway so the client is not told that *its* key is wrong.
ACCESS_CODES = ("unauthorized", "forbidden")
# Codes that say the upstream itself could not finish: it may yet have done the work.
UNKNOWN_OUTCOME_CODES = ("internal_server_error", "bad_gateway")

# A live payment paid with an upstream token carries only the token's id, under this name, in
# its details (`TokenResult.charge_details`): the upstream holds the card.
TOKEN_FIELD = "upstream_token"

_JSON_OPTIONS = orjson.OPT_SORT_KEYS  # one request, one byte sequence: the upstream replays by bytes


def payment_result(data: Any) -> PaymentResult:
    """An upstream payment object as a `PaymentResult`; ValueError when it is not one."""
    if not isinstance(data, Mapping):
        raise ValueError("not an object")
    reference, status = data.get("id"), data.get("status")
    if not isinstance(reference, str) or not reference:
        raise ValueError("no payment id")
    if status not in STATUSES:
        raise ValueError("unknown payment status")
    details = data.get("payment_details") or {}
    if not isinstance(details, Mapping):
        raise ValueError("payment_details is not an object")
    deadline = data.get("payment_deadline")
    if deadline is not None and not isinstance(deadline, str):
        raise ValueError("payment_deadline is not a time")
    refunds = data.get("refunds") or []
    if not isinstance(refunds, list):
        raise ValueError("refunds is not a list")
    return PaymentResult(
        reference,
        status,
        dict(details),
        None if deadline is None else clock.parse_iso(deadline),
        tuple(_refund(item) for item in refunds),
    )


def _refund(item: Any) -> RefundResult:
    if not isinstance(item, Mapping):
        raise ValueError("refund is not an object")
    reference, amount = item.get("id"), item.get("amount")
    if not isinstance(reference, str) or not reference:
        raise ValueError("refund without id")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError("refund without a whole amount")
    return RefundResult(reference, amount)


def _declined(body: Any) -> ApiError | None:
    """KOMOJU's error envelope as the same error, when it is one this server can answer."""
    error = body.get("error") if isinstance(body, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    if not isinstance(code, str) or code not in ERRORS:
        return None
    param = error.get("param")
    message = error.get("message")
    return ApiError(
        code,
        param if isinstance(param, str) else None,
        message=message if isinstance(message, str) and message else None,
    )


class KomojuProcessor:
    """Forwards payments, captures, refunds, cancels, top-ups and tokens to an upstream KOMOJU."""

    name = NAME
    remote = True

    def __init__(
        self,
        url: str,
        secret_key: str,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        conflict_waits: tuple[float, ...] = CONFLICT_WAITS,
    ) -> None:
        self.url = url.rstrip("/")
        self._conflict_waits = conflict_waits
        self._client = httpx.AsyncClient(
            base_url=self.url + "/api/v1",
            auth=httpx.BasicAuth(secret_key, ""),
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY),
            transport=transport,
            follow_redirects=False,
            # Pinned, whatever the key's own version upstream: in 2025-01-28 a partial capture
            # answers the captured amounts and `refunds` only holds refunds made, as recorded
            # here (earlier versions show the released rest as a refund).
            headers={
                "Accept": "application/json",
                "User-Agent": "komoju-server",
                versions.HEADER: versions.LATEST.name,
            },
        )

    def __repr__(self) -> str:  # never the key
        return f"KomojuProcessor({self.url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the contract ------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> PaymentResult:
        body: dict[str, Any] = {
            "amount": request.amount,
            "tax": request.tax,
            "currency": request.currency,
            "capture": request.capture,
            "locale": request.locale,
            "payment_details": _forwarded_details(request.method.type, request.details),
        }
        if request.external_order_num is not None:
            body["external_order_num"] = request.external_order_num
        if request.return_url is not None:
            body["return_url"] = request.return_url
        return _usable(await self._call("POST", "/payments", request.key, body))

    async def top_up(self, request: TopUpRequest) -> PaymentResult:
        body = {"payment_details": _forwarded_details(request.method.type, request.details)}
        return _usable(await self._call("PATCH", f"/payments/{request.reference}", request.key, body))

    async def capture(self, request: CaptureRequest) -> PaymentResult:
        # A full capture sends no body fields, as it always has (a key replayed across an upgrade
        # sends the same bytes); a partial one sends KOMOJU's amount (before tax) and tax.
        body: dict[str, Any] = {}
        if request.partial:
            body = {"amount": request.amount, "tax": request.tax}
        return _usable(await self._call("POST", f"/payments/{request.reference}/capture", request.key, body))

    async def refund(self, request: RefundRequest) -> RefundResult:
        body: dict[str, Any] = {"amount": request.amount}
        if request.description is not None:
            body["description"] = request.description
        answer = await self._call("POST", f"/payments/{request.reference}/refund", request.key, body)
        result = _usable(answer)
        if not result.refunds:
            raise Unanswered("the upstream answered a refund without refunds", sent=True)
        # The refund this call made is the newest one: the answer was written right after it,
        # and a replayed key answers that same first answer byte for byte.
        return result.refunds[-1]

    async def cancel(self, request: CancelRequest) -> PaymentResult:
        return _usable(await self._call("POST", f"/payments/{request.reference}/cancel", request.key, {}))

    # -- beyond the contract: reconcile, webhooks, tokens -----------------------------------------

    async def lookup(self, reference: str) -> PaymentResult:
        """The upstream payment as it is now (reconcile asks this of every open payment)."""
        return _usable(await self._call("GET", f"/payments/{reference}", None, None))

    @staticmethod
    def read_event(event: Mapping[str, Any]) -> PaymentResult | None:
        """A KOMOJU webhook event's payment: `payment.*` events carry it as their data."""
        event_type = event.get("type")
        if not isinstance(event_type, str):
            raise ValueError("not an event")
        if not event_type.startswith("payment."):
            return None  # ping, customer.*, subscription.*: nothing of a payment moves
        return payment_result(event.get("data"))

    async def tokenize(self, details: Mapping[str, Any], currency: str | None = None) -> TokenResult:
        """An upstream token for payment details: it shows the upstream token's details, and a
        payment with it forwards the upstream token's id. Not keyed: a token moves no money,
        and a lost one is simply never used."""
        body: dict[str, Any] = {"payment_details": dict(details)}
        if currency is not None:
            body["currency"] = currency
        answer = await self._call("POST", "/tokens", None, body)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise Unanswered("the upstream answered a token without an id", sent=True)
        shown = answer.get("payment_details")
        return TokenResult(dict(shown) if isinstance(shown, dict) else {}, {TOKEN_FIELD: answer["id"]})

    # -- HTTP --------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, key: str | None, body: dict[str, Any] | None) -> Any:
        headers = {} if key is None else {IDEMPOTENCY_HEADER: key}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = orjson.dumps(body, option=_JSON_OPTIONS)
        for wait in (*self._conflict_waits, None):
            response = await self._send(method, path, headers, content)
            if response.status_code != 409 or wait is None:
                break
            await asyncio.sleep(wait)  # the first call with this key is still running upstream
        return self._answer(method, path, response)

    async def _send(self, method: str, path: str, headers: dict[str, str], content: bytes | None) -> httpx.Response:
        # Reasons name the kind of failure only: an exception's text may carry the URL or more.
        try:
            return await self._client.request(method, path, headers=headers, content=content)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unanswered(f"upstream not reachable ({type(exc).__name__})", sent=False) from None
        except httpx.TimeoutException as exc:
            raise Unanswered(f"upstream did not answer in time ({type(exc).__name__})", sent=True) from None
        except httpx.HTTPError as exc:  # cut off, protocol error: the request may have arrived
            raise Unanswered(f"upstream answer lost ({type(exc).__name__})", sent=True) from None

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if 200 <= status < 300:
            if body is None:
                raise Unanswered(f"upstream answered {status} without JSON", sent=True)
            return body
        if status == 409:
            raise Unanswered("the upstream is still running a call with this key", sent=True)
        declined = _declined(body)
        if declined is not None and declined.code in ACCESS_CODES:
            log.error("live processor %s: the upstream refused our key (%s)", NAME, declined.code)
            raise ApiError("bad_gateway")
        if declined is not None and status >= 400 and declined.code not in UNKNOWN_OUTCOME_CODES:
            raise declined  # a decline or a refusal: nothing moved upstream; say so as it did
        if status >= 500:
            # An upstream crash, its own lost upstream, or a proxy's error page: it may have
            # done the work.
            raise Unanswered(f"upstream answered {status}", sent=True)
        # A 4xx that is not KOMOJU's: the upstream refused, in words this server cannot repeat.
        log.warning("live processor %s: %s %s answered %s without a known error code", NAME, method, path, status)
        raise ApiError("bad_gateway")


def _usable(answer: Any) -> PaymentResult:
    try:
        return payment_result(answer)
    except ValueError as exc:
        raise Unanswered(f"upstream answer is not a payment ({exc})", sent=True) from None


def _forwarded_details(method_type: str, details: Mapping[str, Any]) -> Any:
    """The details as the upstream takes them: an upstream token's id as it is, otherwise the
    cleaned hash with its type."""
    token = details.get(TOKEN_FIELD)
    if isinstance(token, str):
        return token
    return {**details, "type": method_type}
