"""Reading what a request carries: its decoded body and query string."""

from __future__ import annotations

from typing import Any

import falcon.asgi

from komoju_server.api.forms import BodyError, decode_body, decode_form

MAX_BODY = 1_000_000


async def body(req: falcon.asgi.Request) -> dict[str, Any]:
    raw = getattr(req.context, "raw_body", None)  # already read (by the idempotency middleware)
    if raw is None:
        raw = await req.stream.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise BodyError()
        req.context.raw_body = raw
    return decode_body(raw, req.content_type)


def query(req: falcon.asgi.Request) -> dict[str, Any]:
    try:
        return decode_form(req.query_string)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError() from exc


async def list_query(req: falcon.asgi.Request) -> dict[str, Any]:
    """A list's filters and paging: the query string, and a body if the request has one.

    An older KOMOJU Ruby client (heroics-based `komoju` gem) sends a list's filters as a JSON
    body on the GET; KOMOJU, a Rails app, reads body and query string into the same params.
    Where both name a field, the query string wins: it is what the URL addresses, and a
    client adding a parameter to a URL means it. An undecodable body is 400, as on a POST.
    """
    found = query(req)
    if req.content_length == 0:
        return found
    sent = await body(req)
    return {**sent, **found} if sent else found
