"""/sessions: create, show, pay and cancel a session (the hosted payment page's precursor to a
payment), and /payment_methods: the methods this merchant can take."""

from __future__ import annotations

import functools
from typing import Any

import falcon.asgi

from komoju_server.api import inputs, requests
from komoju_server.api.direct import Call, DirectRoutes
from komoju_server.api.payments import base_url, scenario
from komoju_server.api.responses import send
from komoju_server.methods.listing import available_methods
from komoju_server.runtime import Runtime


async def create(runtime: Runtime, call: Call) -> tuple[Any, int]:
    """POST /sessions: a direct route (api/direct.py), as the payments' are."""
    new = inputs.new_session(await call.body())
    return await runtime.sessions.create(call.caller, new, base_url(runtime, call)), 200


class SessionItem:
    # KOMOJU's client-side libraries read a session with the publishable key.
    access = "publishable"
    publishable_methods = ("GET",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        send(resp, await self._rt.sessions.show(req.context.caller, session_id, base_url(self._rt, req)))


class SessionPay:
    # The customer's browser pays a session with the publishable key (KOMOJU's hosted fields).
    access = "publishable"
    publishable_methods = ("POST",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        pay = inputs.session_payment(await requests.body(req), scenario(self._rt, req))
        paid = await self._rt.sessions.pay(req.context.caller, session_id, pay, base_url(self._rt, req))
        send(resp, paid.to_api())


class SessionCancel:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, session_id: str) -> None:
        send(resp, await self._rt.sessions.cancel(req.context.caller, session_id, base_url(self._rt, req)))


class PaymentMethods:
    access = "publishable"
    publishable_methods = ("GET",)

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        send(resp, available_methods())


def add_routes(routes: DirectRoutes, runtime: Runtime, prefix: str) -> None:
    routes.route(f"{prefix}/sessions", POST=functools.partial(create, runtime))
    routes.add_route(f"{prefix}/sessions/{{session_id}}", SessionItem(runtime))
    routes.add_route(f"{prefix}/sessions/{{session_id}}/pay", SessionPay(runtime))
    routes.add_route(f"{prefix}/sessions/{{session_id}}/cancel", SessionCancel(runtime))
    routes.add_route(f"{prefix}/payment_methods", PaymentMethods(runtime))
