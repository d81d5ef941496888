"""The ASGI application: routes, middleware and error rendering, wired to one Runtime."""

from __future__ import annotations

import gc
from typing import Any

import falcon
import falcon.asgi
from falcon.routing import CompiledRouter

from komoju_server.api import errors
from komoju_server.api.access import AccessLog, App
from komoju_server.api.cors import Cors
from komoju_server.api.direct import DirectRoutes
from komoju_server.api.health import Health
from komoju_server.api.middleware import Gate, RequestMiddleware
from komoju_server.api.requests import request_type
from komoju_server.config import Settings
from komoju_server.console import Console, configure_logging, console_for
from komoju_server.runtime import Runtime

API = "/api/v1"


class Lifespan:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        await self._runtime.start()

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        await self._runtime.stop()


def create_app(runtime: Runtime) -> DirectRoutes:
    """The API and the pages: the busiest API routes answered directly (api/direct.py), the
    rest by the Falcon app (`DirectRoutes.app`)."""
    from komoju_server.api.idempotency import IdempotencyMiddleware
    from komoju_server.api.sandbox import MaintenanceGate

    gate = Gate(
        runtime.keyring,
        lambda: runtime.maintenance,
        runtime.throttle,
        MaintenanceGate(runtime.sandbox, API),
        runtime.recent_requests,
    )
    router = CompiledRouter()  # shared with CORS, which answers preflights before the app routes
    app = falcon.asgi.App(
        router=router,
        middleware=[
            Lifespan(runtime),
            RequestMiddleware(gate, Cors(router)),
            # After authentication and the merchant's sandbox maintenance: X-KOMOJU-IDEMPOTENCY
            # (which claims the key only for a request that will run). Its process_response
            # runs before RequestMiddleware's, which notes the answer as it leaves.
            IdempotencyMiddleware(runtime.idempotency, API),
        ],
        request_type=request_type(runtime.settings.limits),
        cors_enable=False,  # Falcon's own CORS would open every route: api/cors.py opens only the declared ones
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_form_urlencoded = False
    errors.install(app)
    app.add_route("/health", Health(runtime))
    direct = DirectRoutes(app, gate, runtime.settings.limits)
    from komoju_server.api import routes

    routes.add_all(direct, runtime, API)
    from komoju_server import pages

    pages.add_routes(app, runtime)
    return direct


def served_app(settings: Settings, console: Console) -> App:
    """The application as `serve` runs it: with the console's request lines around it."""
    app = create_app(Runtime.build(settings, console))
    served = AccessLog(app, console) if console.prints else app
    # What is made by now (modules, routes, templates, the method catalogue) lives as long as
    # the process: moved out of the collector's sight, it is not walked again by every full
    # collection under load, which showed as pauses in the slowest 1% of answers (bench/README.md).
    gc.collect()
    gc.freeze()
    # A request leaves no garbage cycles behind, but 32 requests in flight hold more than the
    # 700 new objects that start a young collection: one every 14 payments, finding nothing,
    # about 10 us a payment with the middle generation's. One every 10,000 objects.
    gc.set_threshold(10_000, 10, 10)
    return served


def app_from_env() -> App:
    """Factory for worker processes: settings come from the environment; each process prints
    its own console lines."""
    settings = Settings.from_env()
    configure_logging(settings)
    return served_app(settings, console_for(settings))
