"""Every KOMOJU error code with its HTTP status and message template.

The table is the API document's own; the few codes it lacks (409 for an idempotent request
still in flight) are marked as this server's additions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# code -> (HTTP status, message template with %{name} placeholders)
ERRORS: dict[str, tuple[int, str]] = {
    "bad_request": (
        400,
        "The server cannot or will not process the request due to something that is perceived to be a client error.",
    ),
    "unauthorized": (401, "User authorization failed."),
    "not_found": (404, "The requested resource could not be found but may be available again in the future."),
    "internal_server_error": (500, "We're sorry but something went wrong. Please try your request again."),
    "forbidden": (403, "You are not authorized to perform that action."),
    "unprocessable_entity": (422, "The request was well-formed but was unable to be followed due to semantic errors."),
    "bad_gateway": (502, "We are unable to process your request due to an invalid response from the upstream server."),
    "gateway_timeout": (
        504,
        "When attempting to process your payment, we encountered a gateway timeout. Fear not, we have not "
        "processed the payment. Please try your payment again.",
    ),
    "service_unavailable": (503, "The server is down for maintenance. Please try again later."),
    "request_failed": (402, "The request failed"),
    "invalid_payment_type": (422, "Payment method was invalid. %{provided} is not one of %{allowed}."),
    "invalid_token": (422, "The token you requested is invalid"),
    "invalid_currency": (422, "The currency you requested is invalid."),
    "not_refundable": (422, "The payment you requested is not refundable."),
    "not_capturable": (422, "The payment you requested is not capturable."),
    "not_cancellable": (422, "This payment is noncancellable."),
    "not_chargebackable": (422, "translation missing: en.errors.unprocessable_entity.not_chargebackable"),
    "fraudulent": (422, "This payment is fraudulent."),
    "invalid_parameter": (422, "The value of %{param} is invalid"),
    "missing_parameter": (422, "A required parameter (%{param}) is missing"),
    "insufficient_funds": (502, "Insufficient funds"),
    "used_number": (502, "Used number"),
    "card_declined": (502, "Card declined"),
    "invalid_password": (502, "Invalid password"),
    "bad_verification_value": (502, "Bad verification value"),
    "exceeds_limit": (502, "Exceeds limit"),
    "card_expired": (502, "Card expired"),
    "invalid_number": (502, "The number you requested is invalid."),
    "invalid_account": (502, "Invalid account"),
    "restricted_account": (502, "translation missing: en.errors.bad_gateway.restricted_account"),
    "other_error": (502, "translation missing: en.errors.bad_gateway.other_error"),
    "invalid_user_key": (502, "translation missing: en.errors.bad_gateway.invalid_user_key"),
    "other_invalid": (502, "Invalid card"),
    # This server's additions (not in KOMOJU's table).
    "conflict": (409, "A request with this idempotency key is still being processed. Please try again later."),
    # KOMOJU does not document what a method a resource lacks answers: 405 with a code of its
    # own, so a client can tell it apart from a malformed request (README, "Errors").
    "method_not_allowed": (405, "The method is not allowed for the requested resource."),
    # KOMOJU answers 429 when throttling but publishes no code for it (services/throttle.py).
    "too_many_requests": (429, "Too many requests. Please try again later."),
}


def render_message(code: str, values: dict[str, Any]) -> str:
    template = ERRORS[code][1]
    for name, value in values.items():
        template = template.replace("%{" + name + "}", str(value))
    return template


Details = Mapping[str, Any]


class ApiError(Exception):
    """An answer in KOMOJU's error envelope: {"error": {"code", "message", "param"}}, plus
    `details` (KOMOJU's current error object has it) when a rule can say what was broken.

    An error with nothing to tell has no `details` key at all, as the API document's own
    examples print it, rather than an empty object. `status` overrides the code's own for
    answers KOMOJU has no code of their own for (a body too large is 413 `bad_request`,
    headers too large 431 `bad_request`).
    """

    def __init__(
        self,
        code: str,
        param: str | None = None,
        message: str | None = None,
        details: Details | None = None,
        status: int | None = None,
        **values: Any,
    ) -> None:
        if code not in ERRORS:
            raise KeyError(f"unknown error code {code!r}")
        self.code = code
        self.param = param
        self.status = status or ERRORS[code][0]
        self.message = message or render_message(code, {"param": param, **values})
        self.details = dict(details) if details is not None else None
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict[str, dict[str, Any]]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "param": self.param}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def missing(param: str) -> ApiError:
    return ApiError("missing_parameter", param)


def invalid(param: str, details: Details | None = None) -> ApiError:
    return ApiError("invalid_parameter", param, details=details)


# What a refused value broke, as `details`: one small vocabulary, named by "rule", so a client
# can act on it without parsing messages (README, "Errors").


def out_of_range(least: int, most: int) -> dict[str, Any]:
    """A whole number outside [least, most]."""
    return {"rule": "range", "min": least, "max": most}


def not_one_of(accepted: Iterable[str]) -> dict[str, Any]:
    """A value that is none of the accepted ones."""
    return {"rule": "one_of", "accepted": list(accepted)}


def length(most: int, least: int | None = None) -> dict[str, Any]:
    """Text longer than `most` characters (or shorter than `least`, when there is one)."""
    bounds = {"min": least} if least is not None else {}
    return {"rule": "length", **bounds, "max": most}


def over_limit(least: int, most: int, currency: str) -> dict[str, Any]:
    """An amount outside what the payment method takes in that currency."""
    return {"rule": "limit", "min": least, "max": most, "currency": currency}


def wrong_format(expected: str, **bounds: int) -> dict[str, Any]:
    """Text that is not of the expected form (`email`, `phone`, `katakana`, `digits`...)."""
    return {"rule": "format", "expected": expected, **bounds}
