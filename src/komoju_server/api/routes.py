"""The API's resources under /api/v1, one module each."""

from __future__ import annotations

import falcon.asgi

from komoju_server.runtime import Runtime


def add_all(app: falcon.asgi.App, runtime: Runtime, prefix: str) -> None:
    from komoju_server.api import payments

    payments.add_routes(app, runtime, prefix)
