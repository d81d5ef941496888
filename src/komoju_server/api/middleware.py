"""What every request goes through: a request id, the API version, maintenance mode, and API-key
authentication."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import os
from typing import Any

import falcon
import falcon.asgi

from komoju_server.api.access import ANSWERED
from komoju_server.api.requests import peer_address
from komoju_server.domain import versions
from komoju_server.domain.errors import ApiError
from komoju_server.domain.params import object_id
from komoju_server.services.merchants import KeyRing
from komoju_server.services.throttle import Throttle

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


class RequestMiddleware:
    def __init__(self, keyring: KeyRing, maintenance: Any, throttle: Throttle | None = None) -> None:
        self._keyring = keyring
        self._maintenance = maintenance  # a callable answering whether the API is in maintenance
        self._throttle = throttle or Throttle(Throttle.OFF)

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.request_id = req.get_header("X-Request-Id") or _next_request_id()
        resp.set_header("X-Request-Id", req.context.request_id)
        req.context.caller = None
        req.context.api_version = versions.DEFAULT
        if not req.path.startswith("/api/"):
            return
        # Read before anything else can refuse the request, so that every API answer, errors
        # included, says the version it is shaped by; an unknown version is refused first.
        req.context.api_version = versions.parse(req.get_header(versions.HEADER))
        resp.set_header(versions.HEADER, req.context.api_version.name)
        if self._maintenance():
            raise ApiError("service_unavailable")

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, req_succeeded: bool
    ) -> None:
        # For the console's request line (api/access.py): the answer as it leaves; only the
        # CORS headers are added after this.
        req.scope[ANSWERED] = (resp.status_code, getattr(req.context, "request_id", ""))

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, params: dict[str, Any]
    ) -> None:
        access = getattr(resource, ACCESS, "secret")
        if access is None:
            return
        # An address that failed too often is answered before its key costs anything.
        address = peer_address(req)
        self._throttle.check_address(address)
        key = key_from_header(req.get_header("Authorization"))
        caller = await self._keyring.caller(key) if key else None
        if caller is None:
            self._throttle.failed(address)
            raise ApiError("unauthorized")
        self._throttle.admit(caller)
        if caller.key_kind == "publishable" and not _allows_publishable(resource, req.method):
            raise ApiError("forbidden")
        version = req.context.api_version
        if caller.api_version is not version:  # the keyring's answer in the default, which most ask for
            caller = dataclasses.replace(caller, api_version=version)
        req.context.caller = caller
        # Every id in a path is one of ours (lowercase letters and digits); anything else names
        # nothing, and never reaches the database (PostgreSQL refuses U+0000 in text).
        if not all(object_id(value) for value in params.values()):
            raise ApiError("not_found")


def publishable_methods(resource: object) -> tuple[str, ...]:
    """The methods a resource opens to the publishable key (and so, through CORS, to browsers)."""
    return tuple(getattr(resource, "publishable_methods", ()))


def _allows_publishable(resource: object, method: str) -> bool:
    return method in publishable_methods(resource)
