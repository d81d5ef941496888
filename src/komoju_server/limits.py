"""What one client may ask of the server: sizes, shapes, times and connections, in one table.

Every limit has a `serve` flag and an environment variable, both derived from `LIMITS` below,
so cli.py, config.py, the README and the tests name the same things. The HTTP connection
(protocol.py) enforces the request line, the headers, the body size, the timeouts and the
connection cap; the API's body reading (api/requests.py, api/forms.py) the body size again
(in process, as the tests run it), the nesting depth and the array length.

Defaults are generous for any KOMOJU request (the largest, a session with line items, is a few
kilobytes) and small enough that one client cannot use up memory or file descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from komoju_server.domain.errors import ApiError


@dataclass(frozen=True)
class Limit:
    name: str  # the Limits field; the flag is --NAME with dashes, the variable KOMOJU_NAME
    kind: type[int] | type[float]
    default: int | float
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "KOMOJU_" + self.name.upper()


LIMITS: tuple[Limit, ...] = (
    Limit("max_request_line", int, 8_192, "bytes of the request line (method, path and query): else 431"),
    Limit("max_header_bytes", int, 32_768, "bytes of all header names and values together: else 431"),
    Limit("max_headers", int, 100, "header fields in one request: else 431"),
    Limit("max_body", int, 1_000_000, "bytes of a request body, declared or chunked: else 413"),
    Limit("max_depth", int, 32, "nesting depth of a JSON or form body (objects and arrays): else 422"),
    Limit("max_array", int, 1_000, "items of one array in a body or query: else 422"),
    Limit("header_timeout", float, 10.0, "seconds to receive a request's headers, from connecting or its first byte"),
    Limit("body_timeout", float, 30.0, "seconds to receive a request's body once its headers are in"),
    Limit("keep_alive_timeout", float, 5.0, "seconds an idle keep-alive connection stays open"),
    Limit("max_connections", int, 1_000, "open connections per server process; more are answered 503 and closed"),
)


@dataclass(frozen=True)
class Limits:
    max_request_line: int = 8_192
    max_header_bytes: int = 32_768
    max_headers: int = 100
    max_body: int = 1_000_000
    max_depth: int = 32
    max_array: int = 1_000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1_000

    @property
    def max_head(self) -> int:
        """Bytes a request's head may take before it is refused unread: the request line and the
        headers, plus the CRLFs and `: ` around them (4 bytes a field, at most)."""
        return self.max_request_line + self.max_header_bytes + 4 * self.max_headers + 16

    def replace(self, **changes: Any) -> Limits:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Limits(**values)


def check(limits: Limits) -> str | None:
    """Why these limits cannot serve (one line), or None."""
    for limit in LIMITS:
        if getattr(limits, limit.name) <= 0:
            return f"{limit.flag} must be more than 0"
    return None


# The answers. KOMOJU has no codes of its own for these: the generic ones, with the status
# HTTP gives them and a message saying which limit and how much.


def line_too_long(limit: int) -> ApiError:
    return ApiError("bad_request", message=f"The request line is too long (at most {limit:,} bytes).", status=431)


def headers_too_large(limit: int) -> ApiError:
    return ApiError("bad_request", message=f"The request headers are too large (at most {limit:,} bytes).", status=431)


def too_many_headers(limit: int) -> ApiError:
    return ApiError("bad_request", message=f"The request has too many headers (at most {limit:,}).", status=431)


def body_too_large(limit: int) -> ApiError:
    return ApiError("bad_request", message=f"The request body is too large (at most {limit:,} bytes).", status=413)


def too_many_connections() -> ApiError:
    return ApiError("service_unavailable", message="Too many open connections. Please try again later.")


def too_deep(param: str | None, limit: int) -> ApiError:
    return ApiError(
        "unprocessable_entity", param, message=f"The request body is nested too deeply (at most {limit} levels)."
    )


def too_long(param: str | None, limit: int) -> ApiError:
    return ApiError(
        "unprocessable_entity", param, message=f"An array in the request is too long (at most {limit:,} items)."
    )
