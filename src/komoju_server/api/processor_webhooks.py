"""POST /processors/NAME/webhooks: the live processor's upstream reports a change.

Outside /api/v1 and without an API key: the upstream proves itself with `X-Komoju-Signature`
(HMAC-SHA256 of the raw body with `--live-processor-webhook-secret`), checked by the service.
Any 2xx tells the upstream to stop retrying; an error answers in KOMOJU's envelope.
"""

from __future__ import annotations

import logging

import falcon.asgi

from komoju_server.api.requests import raw_body
from komoju_server.api.responses import send
from komoju_server.runtime import Runtime
from komoju_server.services.upstream import UpstreamPayments
from komoju_server.webhooks.signing import HEADER as SIGNATURE_HEADER

log = logging.getLogger("komoju_server")


class ProcessorWebhooks:
    access = None  # signed, not keyed

    def __init__(self, upstream: UpstreamPayments) -> None:
        self._upstream = upstream

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        body = await raw_body(req)
        outcome = await self._upstream.receive(body, req.get_header(SIGNATURE_HEADER))
        log.info(
            "%s webhook %s %s: %s",
            self._upstream.processor_name,
            req.get_header("X-Komoju-ID") or "-",
            req.get_header("X-Komoju-Event") or "-",
            outcome,
        )
        send(resp, {"status": "ok"})


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    if runtime.upstream is not None:
        app.add_route(f"/processors/{runtime.upstream.processor_name}/webhooks", ProcessorWebhooks(runtime.upstream))
