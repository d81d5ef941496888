"""`X-KOMOJU-IDEMPOTENCY` on every POST under /api/v1: the HTTP side of `services.idempotency`.

Runs after authentication (it needs the caller) and before the responder. It reads the body
itself, to fingerprint the request, and leaves it on `req.context.raw_body` for the
responder. A replayed answer is the stored status and body, byte for byte, with the
`Idempotent-Replayed: true` header added (this server's extension, to tell a replay apart).

A request that changes something stores its answer in its change's unit of work
(`services.answers`); the middleware stores the answers of the others once they are sent,
and makes sure that what is sent is what is stored.
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from komoju_server.api.requests import raw_body
from komoju_server.api.responses import JSON
from komoju_server.domain import idempotency
from komoju_server.domain.errors import ApiError
from komoju_server.services import answers
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
        body = await raw_body(req)
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
        req.context.idempotency = answers.serving(outcome)

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, req_succeeded: bool
    ) -> None:
        serving: answers.Serving | None = getattr(req.context, "idempotency", None)
        if serving is None:
            return
        req.context.idempotency = None
        answers.served()
        response = (resp.status_code, bytes(resp.data or b""))
        if serving.answered == response:
            return  # stored in the unit of work of the change it answers
        # Errors, reads and answers that changed nothing are stored now, in a unit of their own.
        if await self._service.finish(serving.ticket, *response) or serving.answered is None:
            return
        # The claim already holds an answer: a unit committed with one, and then the request
        # answered differently. What is stored is what happened: answer that, as a replay would.
        stored = await self._service.stored_answer(serving.ticket)
        if stored is not None:
            resp.status, resp.data = stored
            resp.content_type = JSON
