"""`X-KOMOJU-IDEMPOTENCY` on every POST under /api/v1: the HTTP side of `services.idempotency`.

Runs after authentication (it needs the caller) and before the responder. It reads the body
itself, to fingerprint the request, and leaves it on `req.context.raw_body` for the
responder. A replayed answer is the stored status and body, byte for byte, with the
`Idempotent-Replayed: true` header added (this server's extension, to tell a replay apart).
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from komoju_server.api.forms import BodyError
from komoju_server.api.requests import MAX_BODY
from komoju_server.api.responses import JSON
from komoju_server.domain import idempotency
from komoju_server.domain.errors import ApiError
from komoju_server.services.idempotency import Idempotency, Replay

REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_SECONDS = "1"


class IdempotencyMiddleware:
    def __init__(self, service: Idempotency, prefix: str) -> None:
        self._service = service
        self._prefix = prefix + "/"

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, params: dict[str, Any]
    ) -> None:
        req.context.idempotency = None
        if req.method != "POST" or not req.path.startswith(self._prefix):
            return
        raw_key = req.get_header(idempotency.HEADER)
        caller = req.context.caller
        if raw_key is None or caller is None:
            return
        key = idempotency.check_key(raw_key)
        body = await req.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise BodyError()
        req.context.raw_body = body
        fingerprint = self._service.fingerprint(req.method, req.path, req.query_string, body)
        try:
            outcome = await self._service.begin(caller, key, fingerprint)
        except ApiError as error:
            if error.code == "conflict":
                resp.set_header("Retry-After", RETRY_AFTER_SECONDS)
            raise
        if isinstance(outcome, Replay):
            resp.status = outcome.status
            resp.content_type = JSON
            resp.data = outcome.body
            resp.set_header(REPLAYED_HEADER, "true")
            resp.complete = True
            return
        req.context.idempotency = outcome

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, req_succeeded: bool
    ) -> None:
        ticket = getattr(req.context, "idempotency", None)
        if ticket is None:
            return
        req.context.idempotency = None
        await self._service.finish(ticket, resp.status_code, resp.data or b"")
