"""/sandbox/...: this server's test-mode controls (an extension; KOMOJU has no such API).

    POST /sandbox/payments/:id/complete   the customer paid (konbini, transfer, redirect): captured
    POST /sandbox/payments/:id/fail       the customer gave up or was refused: failed
    POST /sandbox/payments/:id/refund_requests/:rid/complete   the bank refund was made
    POST /sandbox/payments/:id/refund_requests/:rid/reject     the refund request was refused
    GET  /sandbox/clock                   the merchant's test clock
    POST /sandbox/clock/advance           {"seconds": N}: move it forward; what falls due happens
    POST /sandbox/reset                   erase the merchant's test data
    POST /sandbox/maintenance             {"enabled": true|false}: the merchant's test mode answers 503

Also the gate that answers 503 while a merchant's test mode is in maintenance; the
sandbox routes stay reachable then, so that the switch can be turned off again.
"""

from __future__ import annotations

import falcon.asgi

from komoju_server.api import requests
from komoju_server.api.responses import send
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.runtime import Runtime
from komoju_server.services.payments import RefundRequestOutcome
from komoju_server.services.sandbox import Sandbox, clock_body, maintenance_body

SANDBOX = "/sandbox"
# The last word of a refund request's control -> the status it leaves the request in.
REFUND_REQUEST_OUTCOMES: dict[str, RefundRequestOutcome] = {"complete": "completed", "reject": "rejected"}


class PaymentControl:
    def __init__(self, runtime: Runtime, action: str) -> None:
        self._rt = runtime
        self._action = action

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str) -> None:
        sandbox = self._rt.sandbox
        caller = req.context.caller
        if self._action == "complete":
            payment = await sandbox.complete(caller, payment_id)
        else:
            payment = await sandbox.fail(caller, payment_id)
        send(resp, payment.to_api(caller.api_version))


class RefundRequestControl:
    def __init__(self, runtime: Runtime, outcome: RefundRequestOutcome) -> None:
        self._rt = runtime
        self._outcome: RefundRequestOutcome = outcome

    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, payment_id: str, request_id: str
    ) -> None:
        caller = req.context.caller
        payment = await self._rt.sandbox.settle_refund_request(caller, payment_id, request_id, self._outcome)
        send(resp, payment.to_api())


class ClockResource:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send(resp, clock_body(*await self._rt.sandbox.now(req.context.caller)))


class ClockAdvance:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        send(resp, clock_body(*await self._rt.sandbox.advance(req.context.caller, body)))


class Reset:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        erased = await self._rt.sandbox.reset(req.context.caller)
        send(resp, {"resource": "sandbox_reset", "erased": erased})


class Maintenance:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await requests.body(req)
        enabled = await self._rt.sandbox.set_maintenance(req.context.caller, body)
        send(resp, maintenance_body(enabled))


class MaintenanceGate:
    """503 service_unavailable on a merchant's test mode while it switched maintenance on
    (api/middleware.py asks it once the caller is known)."""

    def __init__(self, sandbox: Sandbox, prefix: str) -> None:
        self._sandbox = sandbox
        self._exempt = prefix + SANDBOX + "/"

    async def check(self, caller: Caller, path: str) -> None:
        if path.startswith(self._exempt):
            return
        if await self._sandbox.in_maintenance(caller):
            raise ApiError("service_unavailable")


def add_routes(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    base = prefix + SANDBOX
    for action in ("complete", "fail"):
        app.add_route(f"{base}/payments/{{payment_id}}/{action}", PaymentControl(runtime, action))
    for verb, outcome in REFUND_REQUEST_OUTCOMES.items():
        route = f"{base}/payments/{{payment_id}}/refund_requests/{{request_id}}/{verb}"
        app.add_route(route, RefundRequestControl(runtime, outcome))
    app.add_route(f"{base}/clock", ClockResource(runtime))
    app.add_route(f"{base}/clock/advance", ClockAdvance(runtime))
    app.add_route(f"{base}/reset", Reset(runtime))
    app.add_route(f"{base}/maintenance", Maintenance(runtime))
