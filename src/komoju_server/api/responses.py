"""Writing answers: JSON bodies and the list envelope shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon
import orjson

from komoju_server.domain.errors import invalid
from komoju_server.domain.rules import whole_number

JSON = "application/json; charset=utf-8"
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# Past any list this server can hold; keeps offsets, and the page number echoed back, in range.
MAX_PAGE = 1_000_000_000


def send(resp: falcon.asgi.Response, body: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = JSON
    resp.data = orjson.dumps(body)


def page_params(query: Mapping[str, Any]) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (1..100, default 10) of a list request."""
    return _positive(query, "page", 1, MAX_PAGE), _positive(query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _positive(query: Mapping[str, Any], name: str, default: int, most: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = whole_number(str(raw).strip())
    if value is None or not 1 <= value <= most:
        raise invalid(name)
    return value


def envelope(data: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {
        "resource": "list",
        "total": total,
        "page": page,
        "per_page": per_page,
        "last_page": -(-total // per_page),
        "data": data,
    }
