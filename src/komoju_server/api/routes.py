"""The API's resources under /api/v1, one module each."""

from __future__ import annotations

from komoju_server.api.direct import DirectRoutes
from komoju_server.runtime import Runtime


def add_all(routes: DirectRoutes, runtime: Runtime, prefix: str) -> None:
    """Every route under `prefix`: the direct ones on `routes`, the rest on its Falcon app."""
    from komoju_server.api import customers, payments, secure_tokens, tokens

    app = routes.app
    payments.add_routes(routes, runtime, prefix)
    tokens.add_routes(app, runtime, prefix)
    secure_tokens.add_routes(app, runtime, prefix)
    customers.add_routes(app, runtime, prefix)

    from komoju_server.api import events, webhooks

    events.add_routes(app, runtime, prefix)
    webhooks.add_routes(app, runtime, prefix)

    from komoju_server.api import sandbox, subscriptions

    subscriptions.add_routes(app, runtime, prefix)
    sandbox.add_routes(app, runtime, prefix)

    from komoju_server.api import sessions

    sessions.add_routes(routes, runtime, prefix)

    from komoju_server.api import openapi

    openapi.add_routes(app, prefix)

    from komoju_server.api import processor_webhooks

    processor_webhooks.add_routes(app, runtime)  # outside the API prefix: the upstream's, not a merchant's
