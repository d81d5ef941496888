"""Notes every API request a merchant made, for the dashboard's "recent requests"
(`services/recent_requests.py`): the method, the path without its query string, the status
answered, the time and the request id. Nothing of the body, the headers or the key.

A Falcon middleware rather than an ASGI layer, because only here is the merchant known (the
authenticating middleware put it on `req.context.caller`). Requests no key authenticated
(refused 401, pages, /health) belong to no merchant and are not noted.
"""

from __future__ import annotations

import falcon.asgi

from komoju_server.services.recent_requests import RecentRequests


class RecentRequestsMiddleware:
    def __init__(self, recent: RecentRequests) -> None:
        self._record = recent.record

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, req_succeeded: bool
    ) -> None:
        caller = getattr(req.context, "caller", None)
        if caller is not None:
            self._record(caller, req.method, req.path, resp.status_code, req.context.request_id)
