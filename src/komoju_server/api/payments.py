"""/payments: create, list, show, update, and the capture/refund/refund_request/cancel actions."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import requests
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.runtime import Runtime

SCENARIO_HEADER = "Komoju-Scenario"


def base_url(runtime: Runtime, req: falcon.asgi.Request) -> str:
    return (runtime.settings.public_url or req.prefix).rstrip("/")


def scenario(req: falcon.asgi.Request) -> str | None:
    value = req.get_header(SCENARIO_HEADER)
    if not value or req.context.caller.mode != "test":
        return None
    from komoju_server.domain.errors import ApiError
    from komoju_server.processors.test_inputs import SCENARIOS

    if value not in SCENARIOS:
        raise ApiError("invalid_parameter", SCENARIO_HEADER)
    return value


class PaymentList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        query = requests.query(req)
        number, per_page = page_params(query)
        total, payments = await self._rt.payments.page(req.context.caller, query, number, per_page)
        send(resp, envelope([p.to_api() for p in payments], total, number, per_page))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        created = await self._rt.payments.create(req.context.caller, body, base_url(self._rt, req), scenario(req))
        send(resp, created.answer or created.payment.to_api(), created.status_code)


class PaymentItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        send(resp, (await self._rt.payments.get(req.context.caller, payment_id)).to_api())

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        body = await requests.body(req)
        updated = await self._rt.payments.update(req.context.caller, payment_id, body, scenario(req))
        send(resp, updated.payment.to_api(), updated.status_code)


class PaymentAction:
    def __init__(self, runtime: Runtime, action: str) -> None:
        self._rt = runtime
        self._action = action

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        body = await requests.body(req)
        service = self._rt.payments
        caller = req.context.caller
        if self._action == "capture":
            payment = await service.capture(caller, payment_id)
        elif self._action == "cancel":
            payment = await service.cancel(caller, payment_id)
        elif self._action == "refund":
            payment = await service.refund(caller, payment_id, body)
        else:
            payment = await service.refund_request(caller, payment_id, body)
        send(resp, payment.to_api())


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/payments", PaymentList(runtime))
    app.add_route(f"{prefix}/payments/{{payment_id}}", PaymentItem(runtime))
    for action in ("capture", "refund", "refund_request", "cancel"):
        app.add_route(f"{prefix}/payments/{{payment_id}}/{action}", PaymentAction(runtime, action))
