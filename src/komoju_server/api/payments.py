"""/payments: create, list, show, update, and the capture/refund/refund_request/cancel actions.

All of them are direct routes (api/direct.py): answered without Falcon, and through it by the
same handlers when a request goes that way (a POST with X-KOMOJU-IDEMPOTENCY)."""

from __future__ import annotations

from typing import Any

import falcon.asgi

from komoju_server.api import inputs
from komoju_server.api.direct import Call, DirectRoutes
from komoju_server.api.responses import envelope, page_params
from komoju_server.domain.payment import Payment
from komoju_server.processors.test_inputs import SCENARIO_HEADER
from komoju_server.runtime import Runtime

_SCENARIO = SCENARIO_HEADER.lower().encode("latin-1")


def base_url(runtime: Runtime, req: falcon.asgi.Request | Call) -> str:
    return (runtime.settings.public_url or req.prefix).rstrip("/")


def scenario(runtime: Runtime, req: falcon.asgi.Request) -> str | None:
    """The failure a test-mode request asks the sandbox for (`Komoju-Scenario`), checked by it."""
    return runtime.processors.scenario(req.context.caller.mode, req.get_header(SCENARIO_HEADER))


class PaymentHandlers:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def _scenario(self, call: Call) -> str | None:
        return self._rt.processors.scenario(call.caller.mode, call.header(_SCENARIO))

    async def create(self, call: Call) -> tuple[Any, int]:
        caller = call.caller
        new = inputs.new_payment(await call.body(), self._scenario(call))
        created = await self._rt.payments.create(caller, new, base_url(self._rt, call))
        return created.answer or created.payment.to_api(caller.api_version), created.status_code

    async def page(self, call: Call) -> tuple[Any, int]:
        query = await call.list_query()
        number, per_page = page_params(query)
        filter_ = inputs.payment_filter(query)
        total, answers = await self._rt.payment_answers.page(call.caller, filter_, number, per_page)
        return envelope(answers, total, number, per_page), 200

    async def show(self, call: Call) -> tuple[Any, int]:
        return await self._rt.payment_answers.show(call.caller, call.params[0]), 200

    async def update(self, call: Call) -> tuple[Any, int]:
        change = inputs.payment_change(await call.body(), self._scenario(call))
        updated = await self._rt.payments.update(call.caller, call.params[0], change)
        return updated.payment.to_api(call.caller.api_version), updated.status_code

    async def capture(self, call: Call) -> tuple[Any, int]:
        capture = inputs.capture(await call.body())
        return self._answer(call, await self._rt.payments.capture(call.caller, call.params[0], capture))

    async def refund(self, call: Call) -> tuple[Any, int]:
        refund = inputs.refund(await call.body())
        return self._answer(call, await self._rt.payments.refund(call.caller, call.params[0], refund))

    async def refund_request(self, call: Call) -> tuple[Any, int]:
        request = inputs.refund_request(await call.body())
        return self._answer(call, await self._rt.payments.refund_request(call.caller, call.params[0], request))

    async def cancel(self, call: Call) -> tuple[Any, int]:
        await call.body()  # read as every POST's is: a body that cannot be read is a 400 here too
        return self._answer(call, await self._rt.payments.cancel(call.caller, call.params[0]))

    @staticmethod
    def _answer(call: Call, payment: Payment) -> tuple[Any, int]:
        return payment.to_api(call.caller.api_version), 200


def add_routes(routes: DirectRoutes, runtime: Runtime, prefix: str) -> None:
    handlers = PaymentHandlers(runtime)
    routes.route(f"{prefix}/payments", GET=handlers.page, POST=handlers.create)
    routes.route(f"{prefix}/payments/{{payment_id}}", GET=handlers.show, PATCH=handlers.update)
    for action in ("capture", "refund", "refund_request", "cancel"):
        routes.route(f"{prefix}/payments/{{payment_id}}/{action}", POST=getattr(handlers, action))
