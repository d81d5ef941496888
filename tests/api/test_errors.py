"""Error rendering: the KOMOJU envelope for every failure, and a logged, secret-free 500."""

from __future__ import annotations

import logging

import falcon
import falcon.asgi
import falcon.testing
import pytest

from komoju_server.api import errors
from komoju_server.domain.errors import ERRORS, ApiError


class Exploding:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.request_id = "req-123"
        raise RuntimeError("card 4111111111111111 cvv 987")


def test_an_unhandled_exception_is_a_json_500_logged_once_without_secrets(caplog: pytest.LogCaptureFixture):
    app = falcon.asgi.App()
    errors.install(app)
    app.add_route("/boom", Exploding())
    with caplog.at_level(logging.ERROR, logger="komoju_server"):
        result = falcon.testing.TestClient(app).simulate_get("/boom")
    assert result.status_code == 500
    assert result.json == {
        "error": {
            "code": "internal_server_error",
            "param": None,
            "message": "We're sorry but something went wrong. Please try your request again.",
        }
    }
    records = [r for r in caplog.records if r.name == "komoju_server"]
    assert len(records) == 1
    logged = records[0].getMessage()
    assert "req-123" in logged and "RuntimeError" in logged
    assert "4111111111111111" not in logged and "987" not in logged


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (ApiError("missing_parameter", "amount"), 422, "A required parameter (amount) is missing"),
        (
            ApiError("invalid_parameter", "payment_details[store]"),
            422,
            "The value of payment_details[store] is invalid",
        ),
        (
            ApiError("invalid_payment_type", "payment_details[type]", provided="x", allowed="a, b"),
            422,
            "Payment method was invalid. x is not one of a, b.",
        ),
        (ApiError("insufficient_funds"), 502, "Insufficient funds"),
        (ApiError("request_failed"), 402, "The request failed"),
    ],
)
def test_messages_follow_the_documents_templates(error: ApiError, status: int, message: str):
    assert error.status == status
    assert error.body() == {"error": {"code": error.code, "message": message, "param": error.param}}


def test_the_table_has_every_code_of_the_document():
    document_codes = {
        "bad_request",
        "unauthorized",
        "not_found",
        "internal_server_error",
        "forbidden",
        "unprocessable_entity",
        "bad_gateway",
        "gateway_timeout",
        "service_unavailable",
        "request_failed",
        "invalid_payment_type",
        "invalid_token",
        "invalid_currency",
        "not_refundable",
        "not_capturable",
        "not_cancellable",
        "not_chargebackable",
        "fraudulent",
        "invalid_parameter",
        "missing_parameter",
        "insufficient_funds",
        "used_number",
        "card_declined",
        "invalid_password",
        "bad_verification_value",
        "exceeds_limit",
        "card_expired",
        "invalid_number",
        "invalid_account",
        "restricted_account",
        "other_error",
        "invalid_user_key",
        "other_invalid",
    }
    assert document_codes <= set(ERRORS)


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        ApiError("no_such_code")
