"""GET /health: 200 while the server can serve (its database answers); 503 `service_unavailable`
in the API's error envelope while it cannot be reached."""

from __future__ import annotations

import falcon.asgi

from komoju_server.api.responses import send
from komoju_server.runtime import Runtime


class Health:
    access = None

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self._runtime.store.ping()  # StoreUnavailable: the error handler answers 503
        send(resp, {"status": "ok"})
