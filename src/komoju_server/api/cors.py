"""CORS: a merchant's page in a browser may call what the publishable key may call, and nothing else.

What is open is declared once, by the resources: their `publishable_methods`, what a
publishable key may call (`middleware.publishable_methods`). Only those (resource, method)
pairs get CORS:

- a preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) for one of them is
  answered here, 204, before maintenance, authentication or anything that reads the database
  (a browser sends no key with a preflight);
- their actual answers, errors included (401, 403, 422, 502, 503...), carry
  `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`, so the page can read a
  KOMOJU error envelope instead of an opaque network error.

Any other preflight is answered 403 `forbidden` without any CORS header, so the browser
blocks the request before it is sent; other answers carry no CORS header at all.

The origin is `*`: publishable keys are made to be embedded in any merchant's pages (KOMOJU
Fields calls komoju.com from them), the key travels in `Authorization`, not in a cookie, and
no CORS request here is made with credentials. `*` never varies with the request, so caches
need no `Vary: Origin`.
"""

from __future__ import annotations

import falcon
import falcon.asgi
from falcon.routing import CompiledRouter

from komoju_server.api.idempotency import REPLAYED_HEADER
from komoju_server.api.middleware import publishable_methods
from komoju_server.api.responses import send
from komoju_server.domain import idempotency, versions
from komoju_server.domain.errors import ApiError
from komoju_server.processors.test_inputs import SCENARIO_HEADER

ALLOW_ORIGIN = "*"
# What a page may send: its key, a JSON body, an idempotency key, KOMOJU's API version header
# (sent by KOMOJU's client libraries), a test-mode scenario and its own request id.
# `Idempotency-Key` is not listed: this server does not read it.
ALLOW_HEADERS = ", ".join(
    ("Authorization", "Content-Type", idempotency.HEADER, versions.HEADER, SCENARIO_HEADER, "X-Request-Id")
)
# What a page may read beyond the CORS-safelisted headers (Content-Type and a few others).
EXPOSE_HEADERS = ", ".join(("X-Request-Id", REPLAYED_HEADER, "Retry-After", versions.HEADER))
# How long a browser may reuse a preflight: two hours, the most Chromium honours.
MAX_AGE = "7200"
CLOSED_MESSAGE = "This endpoint cannot be called from a browser: it needs the secret key, on your server."


class Cors:
    """The CORS steps of every request (api/middleware.py runs them): a preflight is answered
    before anything else runs, and the headers are added once everything else has shaped the
    answer."""

    def __init__(self, router: CompiledRouter) -> None:
        self._router = router  # the app's own: a preflight is answered before the app routes

    def preflight(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Answers a preflight (and marks the answer complete); anything else passes."""
        if req.method != "OPTIONS":
            return
        wanted = req.get_header("Access-Control-Request-Method")
        if wanted is None or req.get_header("Origin") is None:
            return  # a plain OPTIONS, not a preflight: routed as any request
        resource = self._resource(req.path)
        if resource is None:
            return  # nothing there: the app answers 404
        methods = publishable_methods(resource)
        if wanted not in methods:
            send(resp, ApiError("forbidden", message=CLOSED_MESSAGE).body(), 403)
        else:
            resp.status = falcon.HTTP_204
            resp.set_header("Access-Control-Allow-Origin", ALLOW_ORIGIN)
            resp.set_header("Access-Control-Allow-Methods", ", ".join(methods))
            resp.set_header("Access-Control-Allow-Headers", ALLOW_HEADERS)
            resp.set_header("Access-Control-Max-Age", MAX_AGE)
        resp.complete = True

    def expose(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object) -> None:
        """The CORS headers on the answer to what a page may call, errors included."""
        if resource is None:
            # A preflight (answered above), or refused before routing (maintenance): then what
            # the page asked for decides.
            if req.method == "OPTIONS" or req.get_header("Origin") is None:
                return
            resource = self._resource(req.path)
        if req.method in publishable_methods(resource):
            resp.set_header("Access-Control-Allow-Origin", ALLOW_ORIGIN)
            resp.set_header("Access-Control-Expose-Headers", EXPOSE_HEADERS)

    def _resource(self, path: str) -> object:
        found = self._router.find(path)
        return None if found is None else found[0]
