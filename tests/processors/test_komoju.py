"""The upstream KOMOJU processor: what it sends, and how every kind of upstream answer (or its
absence) maps onto the processor contract. Answers come from httpx.MockTransport; timeouts and
cut connections from tiny real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from komoju_server.domain.errors import ApiError
from komoju_server.methods import BY_TYPE
from komoju_server.processors.base import (
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
from komoju_server.processors.komoju import TOKEN_FIELD, KomojuProcessor, payment_result

KEY = "sk_live_upstream_secret_0123456789"
CARD = {"type": "credit_card", "number": "4111111111111111", "month": 1, "year": 2030}


def upstream_payment(**changes: Any) -> dict[str, Any]:
    payment = {
        "id": "up123",
        "resource": "payment",
        "status": "captured",
        "amount": 1000,
        "tax": 100,
        "total": 1100,
        "currency": "JPY",
        "payment_deadline": "2026-12-10T14:59:59Z",
        "payment_details": {"type": "credit_card", "brand": "visa", "last_four_digits": "1111"},
        "refunds": [],
    }
    return {**payment, **changes}


def charge(key: str = "intent-1", **changes: Any) -> ChargeRequest:
    fields: dict[str, Any] = {
        "key": key,
        "payment_id": "ours1",
        "method": BY_TYPE["credit_card"],
        "details": dict(CARD),
        "amount": 1000,
        "tax": 100,
        "currency": "JPY",
        "capture": True,
        "created_at": 1_700_000_000,
        "base_url": "http://127.0.0.1:1",
    }
    return ChargeRequest(**{**fields, **changes})


class Upstream:
    """A MockTransport that records requests and answers from a queue (the last answer repeats)."""

    def __init__(self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def processor(self) -> KomojuProcessor:
        return KomojuProcessor(
            "http://upstream.test/", KEY, transport=httpx.MockTransport(self.handle), conflict_waits=(0, 0)
        )


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers={"Content-Type": "application/json"})


def error(status: int, code: str, param: str | None = None) -> httpx.Response:
    return json_response(status, {"error": {"code": code, "message": f"{code} upstream", "param": param}})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- what is sent -------------------------------------------------------------------------------


def test_a_charge_posts_the_payment_with_the_key_as_basic_auth_and_the_intent_key():
    upstream = Upstream(json_response(200, upstream_payment()))
    result = run(upstream.processor().charge(charge(external_order_num="order-7")))
    assert result == PaymentResult(
        "up123",
        "captured",
        {"type": "credit_card", "brand": "visa", "last_four_digits": "1111"},
        1_796_914_799,
        (),
    )
    sent = upstream.requests[0]
    assert (sent.method, str(sent.url)) == ("POST", "http://upstream.test/api/v1/payments")
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert sent.headers["X-KOMOJU-IDEMPOTENCY"] == "intent-1"
    assert orjson.loads(sent.content) == {
        "amount": 1000,
        "tax": 100,
        "currency": "JPY",
        "capture": True,
        "locale": "ja",
        "external_order_num": "order-7",
        "payment_details": CARD,
    }


def test_asking_again_with_one_key_sends_the_same_bytes_so_the_upstream_replays():
    upstream = Upstream(json_response(200, upstream_payment()))
    processor = upstream.processor()
    run(processor.charge(charge()))
    # Recovery rebuilds the request from the stored intent: the details may come back in
    # another order, the creation time and base URL may differ; the bytes must not.
    reordered = charge(details=dict(reversed(list(CARD.items()))), created_at=1, base_url="http://other")
    run(processor.charge(reordered))
    assert upstream.requests[0].content == upstream.requests[1].content


def test_follow_up_calls_act_on_the_reference():
    upstream = Upstream(
        json_response(200, upstream_payment(status="captured")),
        json_response(200, upstream_payment(status="cancelled")),
        json_response(202, upstream_payment(status="pending")),
        json_response(200, upstream_payment(status="authorized")),
    )
    processor = upstream.processor()
    assert run(processor.capture(CaptureRequest("k-capture", "up123"))).status == "captured"
    assert run(processor.cancel(CancelRequest("k-cancel", "up123"))).status == "cancelled"
    top_up = TopUpRequest(
        "k-top",
        "up123",
        "ours1",
        BY_TYPE["web_money"],
        {"type": "web_money", "prepaid_number": "1111111111111111"},
        3000,
        (),
    )
    assert run(processor.top_up(top_up)).status == "pending"
    assert run(processor.lookup("up123")).status == "authorized"
    sent = [(r.method, r.url.path, r.headers.get("X-KOMOJU-IDEMPOTENCY")) for r in upstream.requests]
    assert sent == [
        ("POST", "/api/v1/payments/up123/capture", "k-capture"),
        ("POST", "/api/v1/payments/up123/cancel", "k-cancel"),
        ("PATCH", "/api/v1/payments/up123", "k-top"),
        ("GET", "/api/v1/payments/up123", None),
    ]
    assert orjson.loads(upstream.requests[2].content) == {
        "payment_details": {"type": "web_money", "prepaid_number": "1111111111111111"}
    }


def test_a_full_capture_sends_no_fields_and_a_partial_one_sends_amount_and_tax():
    upstream = Upstream(json_response(200, upstream_payment(status="captured")))
    processor = upstream.processor()
    run(processor.capture(CaptureRequest("k-full", "up123")))
    run(processor.capture(CaptureRequest("k-part", "up123", 600, 60)))
    run(processor.capture(CaptureRequest("k-part", "up123", 600, 60)))  # recovery: the same bytes
    assert [(r.url.path, r.headers["X-KOMOJU-IDEMPOTENCY"]) for r in upstream.requests] == [
        ("/api/v1/payments/up123/capture", "k-full"),
        ("/api/v1/payments/up123/capture", "k-part"),
        ("/api/v1/payments/up123/capture", "k-part"),
    ]
    assert [r.content for r in upstream.requests] == [b"{}", b'{"amount":600,"tax":60}', b'{"amount":600,"tax":60}']


def test_a_partial_capture_refused_upstream_is_refused_with_its_code_and_param():
    upstream = Upstream(error(422, "not_capturable", "amount"))
    with pytest.raises(ApiError) as refused:
        run(upstream.processor().capture(CaptureRequest("k", "up123", 5000, 500)))
    assert (refused.value.code, refused.value.param, refused.value.status) == ("not_capturable", "amount", 422)


def test_a_refund_answers_the_newest_refund_of_the_upstream_payment():
    refunds = [{"id": "r_old", "amount": 100}, {"id": "r_new", "amount": 300}]
    upstream = Upstream(json_response(200, upstream_payment(refunds=refunds, amount_refunded=400)))
    result = run(upstream.processor().refund(RefundRequest("k-refund", "up123", 300, "broken")))
    assert result == RefundResult("r_new", 300)
    assert orjson.loads(upstream.requests[0].content) == {"amount": 300, "description": "broken"}
    assert upstream.requests[0].url.path == "/api/v1/payments/up123/refund"


def test_a_payment_with_an_upstream_token_forwards_the_token_id():
    upstream = Upstream(json_response(200, upstream_payment()))
    run(upstream.processor().charge(charge(details={"type": "credit_card", TOKEN_FIELD: "tok_abc"})))
    assert orjson.loads(upstream.requests[0].content)["payment_details"] == "tok_abc"


def test_tokenize_answers_the_upstream_token():
    token = {"id": "tok_up", "resource": "token", "payment_details": {"type": "credit_card", "email": None}}
    upstream = Upstream(json_response(200, token))
    made = run(upstream.processor().tokenize(CARD))
    assert made == TokenResult({"type": "credit_card", "email": None}, {TOKEN_FIELD: "tok_up"})
    assert upstream.requests[0].url.path == "/api/v1/tokens"
    assert "X-KOMOJU-IDEMPOTENCY" not in upstream.requests[0].headers


# -- declines: the same code, so the same status ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "param"),
    [
        (502, "card_declined", None),
        (502, "insufficient_funds", None),
        (504, "gateway_timeout", None),
        (422, "invalid_parameter", "payment_details[number]"),
        (422, "not_capturable", None),
        (404, "not_found", None),
        (503, "service_unavailable", None),
    ],
)
def test_an_upstream_error_envelope_is_the_same_error(status, code, param):
    upstream = Upstream(error(status, code, param))
    with pytest.raises(ApiError) as caught:
        run(upstream.processor().charge(charge()))
    assert (caught.value.code, caught.value.status, caught.value.param) == (code, status, param)


@pytest.mark.parametrize("code", ["unauthorized", "forbidden"])
def test_the_upstream_refusing_our_key_is_a_bad_gateway_and_never_names_the_key(code, caplog):
    upstream = Upstream(error(401 if code == "unauthorized" else 403, code))
    with caplog.at_level(logging.DEBUG), pytest.raises(ApiError) as caught:
        run(upstream.processor().charge(charge()))
    assert caught.value.code == "bad_gateway"
    assert KEY not in caplog.text and KEY not in str(caught.value)


def test_a_4xx_without_a_known_code_is_a_bad_gateway():
    upstream = Upstream(error(418, "teapot"), httpx.Response(400, text="<html>no</html>"))
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            run(upstream.processor().charge(charge()))
        assert caught.value.code == "bad_gateway"


# -- no usable answer: Unanswered ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        error(500, "internal_server_error"),
        error(502, "bad_gateway"),
        httpx.Response(502, text="<html>nginx: bad gateway</html>"),
        httpx.Response(503, text="down"),
        httpx.Response(200, text="<html>welcome</html>"),
        json_response(200, {"id": "up123", "status": "paid_maybe"}),
        json_response(200, {"status": "captured"}),
        json_response(200, ["not", "a", "payment"]),
        json_response(200, upstream_payment(payment_details="visa")),
        json_response(200, upstream_payment(refunds=[{"id": "r1", "amount": "100"}])),
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
    ],
    ids=lambda answer: type(answer).__name__ if isinstance(answer, Exception) else str(answer.status_code),
)
def test_an_unusable_answer_or_a_lost_one_is_unanswered_and_maybe_sent(answer):
    upstream = Upstream(answer)
    with pytest.raises(Unanswered) as caught:
        run(upstream.processor().charge(charge()))
    assert caught.value.sent is True
    assert KEY not in caught.value.reason


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")])
def test_a_connection_never_made_is_unanswered_and_not_sent(failure):
    upstream = Upstream(failure)
    with pytest.raises(Unanswered) as caught:
        run(upstream.processor().capture(CaptureRequest("k", "up123")))
    assert caught.value.sent is False


def test_a_refund_answer_without_refunds_is_unanswered():
    upstream = Upstream(json_response(200, upstream_payment(refunds=[])))
    with pytest.raises(Unanswered) as caught:
        run(upstream.processor().refund(RefundRequest("k", "up123", 100)))
    assert caught.value.sent is True


def test_a_key_still_running_upstream_is_waited_out_then_answered():
    upstream = Upstream(error(409, "conflict"), error(409, "conflict"), json_response(200, upstream_payment()))
    assert run(upstream.processor().charge(charge())).reference == "up123"
    assert [r.headers["X-KOMOJU-IDEMPOTENCY"] for r in upstream.requests] == ["intent-1"] * 3


def test_a_key_that_stays_running_upstream_is_unanswered():
    upstream = Upstream(error(409, "conflict"))
    with pytest.raises(Unanswered) as caught:
        run(upstream.processor().charge(charge()))
    assert caught.value.sent is True
    assert len(upstream.requests) == 3  # the first try and one per wait


# -- real sockets on 127.0.0.1 ------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_closed_port_is_unanswered_and_not_sent():
    processor = KomojuProcessor(f"http://127.0.0.1:{closed_port()}", KEY, timeout=2)
    with pytest.raises(Unanswered) as caught:
        run(processor.charge(charge()))
    assert caught.value.sent is False


async def _against(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any], call: Any) -> Any:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    processor = KomojuProcessor(f"http://127.0.0.1:{port}", KEY, timeout=0.5)
    try:
        return await call(processor)
    finally:
        await processor.aclose()
        server.close()


def test_an_upstream_that_reads_the_request_and_never_answers_is_unanswered_and_maybe_sent():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)

    async def main() -> None:
        with pytest.raises(Unanswered) as caught:
            await _against(silent, lambda processor: processor.charge(charge()))
        assert caught.value.sent is True

    run(main())


def test_an_upstream_that_hangs_up_after_reading_is_unanswered_and_maybe_sent():
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.close()

    async def main() -> None:
        with pytest.raises(Unanswered) as caught:
            await _against(hang_up, lambda processor: processor.refund(RefundRequest("k", "up123", 100)))
        assert caught.value.sent is True

    run(main())


def test_payment_result_reads_refunds_and_a_missing_deadline():
    result = payment_result(upstream_payment(payment_deadline=None, refunds=[{"id": "r1", "amount": 50}]))
    assert (result.payment_deadline, result.refunds) == (None, (RefundResult("r1", 50),))
