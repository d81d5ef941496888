"""/payments: create, list, show, update, and the capture/refund/refund_request/cancel actions."""

from __future__ import annotations

import functools
from typing import Any

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.direct import Call, DirectRoutes, call_of
from komoju_server.api.responses import envelope, page_params, send
from komoju_server.processors.test_inputs import SCENARIO_HEADER
from komoju_server.runtime import Runtime

_SCENARIO = SCENARIO_HEADER.lower().encode("latin-1")


def base_url(runtime: Runtime, req: falcon.asgi.Request | Call) -> str:
    return (runtime.settings.public_url or req.prefix).rstrip("/")


def scenario(runtime: Runtime, req: falcon.asgi.Request) -> str | None:
    """The failure a test-mode request asks the sandbox for (`Komoju-Scenario`), checked by it."""
    return runtime.processors.scenario(req.context.caller.mode, req.get_header(SCENARIO_HEADER))


# The busiest three: answered without Falcon (api/direct.py), and by the resources below when
# a request goes through it (an idempotency key, a body in several messages).


async def create(runtime: Runtime, call: Call) -> tuple[Any, int]:
    caller = call.caller
    new = inputs.new_payment(await call.body(), runtime.processors.scenario(caller.mode, call.header(_SCENARIO)))
    created = await runtime.payments.create(caller, new, base_url(runtime, call))
    return created.answer or created.payment.to_api(caller.api_version), created.status_code


async def page(runtime: Runtime, call: Call) -> tuple[Any, int]:
    query = await call.list_query()
    number, per_page = page_params(query)
    total, answers = await runtime.payment_answers.page(call.caller, inputs.payment_filter(query), number, per_page)
    return envelope(answers, total, number, per_page), 200


async def show(runtime: Runtime, call: Call) -> tuple[Any, int]:
    return await runtime.payment_answers.show(call.caller, call.params[0]), 200


def add_direct_routes(routes: DirectRoutes, runtime: Runtime, prefix: str) -> None:
    routes.add("POST", f"{prefix}/payments", functools.partial(create, runtime))
    routes.add("GET", f"{prefix}/payments", functools.partial(page, runtime))
    routes.add("GET", f"{prefix}/payments/{{payment_id}}", functools.partial(show, runtime))


class PaymentList:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send(resp, *await page(self._rt, call_of(req)))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send(resp, *await create(self._rt, call_of(req)))


class PaymentItem:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        send(resp, *await show(self._rt, call_of(req, payment_id)))

    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        change = inputs.payment_change(await requests.body(req), scenario(self._rt, req))
        updated = await self._rt.payments.update(req.context.caller, payment_id, change)
        send(resp, updated.payment.to_api(req.context.caller.api_version), updated.status_code)


class PaymentAction:
    def __init__(self, runtime: Runtime, action: str) -> None:
        self._rt = runtime
        self._action = action

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        body = await requests.body(req)
        service = self._rt.payments
        caller = req.context.caller
        if self._action == "capture":
            payment = await service.capture(caller, payment_id, inputs.capture(body))
        elif self._action == "cancel":
            payment = await service.cancel(caller, payment_id)
        elif self._action == "refund":
            payment = await service.refund(caller, payment_id, inputs.refund(body))
        else:
            payment = await service.refund_request(caller, payment_id, inputs.refund_request(body))
        send(resp, payment.to_api(caller.api_version))


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    app.add_route(f"{prefix}/payments", PaymentList(runtime))
    app.add_route(f"{prefix}/payments/{{payment_id}}", PaymentItem(runtime))
    for action in ("capture", "refund", "refund_request", "cancel"):
        app.add_route(f"{prefix}/payments/{{payment_id}}/{action}", PaymentAction(runtime, action))
