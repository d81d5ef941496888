"""What every request goes through, in order, as one Falcon middleware: CORS preflights, a request
id, the API version, maintenance mode, API-key authentication, a merchant's sandbox
maintenance; on the way out, the merchant's "recent requests", the console's note and the CORS
headers.

The steps themselves are `Gate`'s: plain calls on what a request carries (its headers, its
address, its path), not on Falcon's request, so that they can run without Falcon too.

One middleware rather than one per step: Falcon awaits every hook of every middleware on every
request, and a step that is a plain call costs a fraction of a hook (bench.instructions). The
idempotency middleware (api/idempotency.py) stays apart, listed after this one: it runs once
the caller is known and finishes before the answer is noted here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import falcon
import falcon.asgi

from komoju_server.api.access import ANSWERED
from komoju_server.api.requests import peer_address
from komoju_server.domain import versions
from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.params import object_id
from komoju_server.services.merchants import KeyRing
from komoju_server.services.recent_requests import RecentRequests
from komoju_server.services.throttle import Throttle

if TYPE_CHECKING:  # hints only: api/cors.py imports this module, api/sandbox.py the runtime
    from komoju_server.api.cors import Cors
    from komoju_server.api.sandbox import MaintenanceGate

# Request ids: a random prefix per process and a counter, unique without a system call each.
_REQUEST_PREFIX = os.urandom(6).hex()
_request_numbers = itertools.count(1)


def _next_request_id() -> str:
    return f"{_REQUEST_PREFIX}{next(_request_numbers):012x}"


# Resource attribute naming the weakest key it accepts: "secret", "publishable" or None (no key).
ACCESS = "access"


def key_from_header(header: str | None) -> str | None:
    """The API key of HTTP Basic auth: the user name; the password is ignored."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):  # ValueError: non-ASCII characters
        return None
    user = decoded.partition(":")[0]
    return user or None


class Gate:
    """The steps every API request passes, in order, whichever way it came (this module's
    middleware, or api/direct.py for the routes answered without Falcon): its request id (and
    its API version, which both read first with `versions.parse`), the API's maintenance mode,
    then the key, the throttle, the ids in its path and the merchant's sandbox maintenance; on
    the way out, the merchant's recent requests."""

    def __init__(
        self,
        keyring: KeyRing,
        maintenance: Any,
        throttle: Throttle,
        sandbox: MaintenanceGate,
        recent: RecentRequests,
    ) -> None:
        self._keyring = keyring
        self._maintenance = maintenance  # a callable answering whether the API is in maintenance
        self._throttle = throttle
        self._sandbox = sandbox
        self.record = recent.record

    @staticmethod
    def request_id(header: str | None) -> str:
        """The caller's own X-Request-Id, else a new one."""
        return header or _next_request_id()

    def check_open(self) -> None:
        if self._maintenance():
            raise ApiError("service_unavailable")

    async def admit(
        self,
        publishable: bool,
        address: str,
        authorization: str | None,
        version: versions.ApiVersion,
    ) -> Caller:
        """The caller of a request to a route that takes a key, `publishable` saying whether
        the route opens this method to the publishable key."""
        # An address that failed too often is answered before its key costs anything.
        self._throttle.check_address(address)
        key = key_from_header(authorization)
        caller = await self._keyring.caller(key) if key else None
        if caller is None:
            self._throttle.failed(address)
            raise ApiError("unauthorized")
        self._throttle.admit(caller)
        if caller.key_kind == "publishable" and not publishable:
            raise ApiError("forbidden")
        if caller.api_version is not version:  # the keyring's answer in the default, which most ask for
            caller = dataclasses.replace(caller, api_version=version)
        return caller

    async def check_path(self, caller: Caller, path: str, params: Iterable[str]) -> None:
        """What an admitted caller's path must pass: its ids, and the merchant's sandbox
        maintenance. (A refusal here is still noted in the merchant's recent requests.)"""
        # Every id in a path is one of ours (lowercase letters and digits); anything else names
        # nothing, and never reaches the database (PostgreSQL refuses U+0000 in text).
        if not all(object_id(value) for value in params):
            raise ApiError("not_found")
        await self._sandbox.check(caller, path)


class RequestMiddleware:
    def __init__(self, gate: Gate, cors: Cors) -> None:
        self._gate = gate
        self._cors = cors

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        self._cors.preflight(req, resp)
        if resp.complete:  # a preflight, answered before anything else runs (no key, no database)
            return
        req.context.request_id = self._gate.request_id(req.get_header("X-Request-Id"))
        resp.set_header("X-Request-Id", req.context.request_id)
        req.context.caller = None
        req.context.api_version = versions.DEFAULT
        if not req.path.startswith("/api/"):
            return
        # Read before anything else can refuse the request, so that every API answer, errors
        # included, says the version it is shaped by; an unknown version is refused first.
        req.context.api_version = versions.parse(req.get_header(versions.HEADER))
        resp.set_header(versions.HEADER, req.context.api_version.name)
        self._gate.check_open()

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, params: dict[str, Any]
    ) -> None:
        if getattr(resource, ACCESS, "secret") is None:  # a route that takes no key
            return
        caller = await self._gate.admit(
            _allows_publishable(resource, req.method),
            peer_address(req.scope),
            req.get_header("Authorization"),
            req.context.api_version,
        )
        req.context.caller = caller
        await self._gate.check_path(caller, req.path, params.values())

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, req_succeeded: bool
    ) -> None:
        # The answer as it leaves (the idempotency middleware, listed after this one, is done
        # with it): for the merchant's recent requests (none for a request no key
        # authenticated) and for the console's request line (api/access.py).
        request_id = getattr(req.context, "request_id", "")
        caller = getattr(req.context, "caller", None)
        if caller is not None:
            self._gate.record(caller, req.method, req.path, resp.status_code, request_id)
        req.scope[ANSWERED] = (resp.status_code, request_id)
        self._cors.expose(req, resp, resource)


def publishable_methods(resource: object) -> tuple[str, ...]:
    """The methods a resource opens to the publishable key (and so, through CORS, to browsers)."""
    return tuple(getattr(resource, "publishable_methods", ()))


def _allows_publishable(resource: object, method: str) -> bool:
    return method in publishable_methods(resource)
