"""Checking real requests and answers against the OpenAPI document with openapi-core.

`checked(client, spec)` hooks a client so that every request it sends and every answer it gets
is validated against the strict document (`document(strict=True)`: every answer object closed,
so a field the document does not list fails too). A form body is checked as the structure the
server decodes it to (`api/forms.decode_body`), which is what the document's two encodings
describe alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from komoju_server.api import openapi
from komoju_server.api.forms import decode_body

SPEC_DOCUMENT = Path(__file__).resolve().parent.parent / "data" / "komoju-v1-api.txt"

_STRICT: OpenAPI | None = None


def strict_spec() -> OpenAPI:
    global _STRICT
    if _STRICT is None:
        _STRICT = OpenAPI.from_dict(openapi.document(strict=True))
    return _STRICT


class _Request:
    """openapi-core's request protocol over an httpx request (form bodies as their JSON)."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        raw = request.read()
        media = request.headers.get("content-type", "")
        if raw and not media.startswith("application/json"):
            self.body: bytes | None = orjson.dumps(decode_body(raw, media))
        else:
            self.body = raw or None
        self.content_type = "application/json" if self.body is not None else ""
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(list(request.headers.items())), cookie=ImmutableMultiDict()
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "").split(";")[0]
        self.headers = Headers(list(response.headers.items()))
        self.data = response.content


@dataclass
class Checked:
    """What a checked client saw: each call (method, path, status) and every mismatch."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        self.calls.append((request.method, request.url.path, response.status_code))
        spec = strict_spec()
        wrapped = _Request(request)
        where = f"{request.method} {request.url.path} -> {response.status_code}"
        for error in spec.iter_request_errors(wrapped):
            if response.status_code < 400:  # a refused request may well not match the document
                self.problems.append(f"{where}: request: {_explain(error)}")
        for error in spec.iter_response_errors(wrapped, _Response(response)):
            self.problems.append(f"{where}: answer: {_explain(error)} {response.text[:300]}")


def _explain(error: Exception) -> str:
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__
    while cause is not None:
        details = getattr(cause, "schema_errors", None)
        parts.append(f"{type(cause).__name__}: {cause}")
        if details:
            parts += [f"  {e.message} at {list(e.absolute_path)}" for e in details][:5]
        cause = cause.__cause__
    return "\n".join(parts)


def checked(client: httpx.Client) -> Checked:
    seen = Checked()
    client.event_hooks["response"].append(seen.check)
    return seen


# -- the API document's examples -----------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    line: int
    path: str
    fields: tuple[str, ...]  # as curl -d sends them: `name=value`, not re-encoded

    def form(self) -> bytes:
        return "&".join(self.fields).encode("utf-8")

    def json(self) -> dict[str, Any]:
        return decode_body(self.form(), "application/x-www-form-urlencoded")


def spec_examples() -> list[Example]:
    """Every `curl -X POST` of the API document with its `-d` fields, in order."""
    lines = SPEC_DOCUMENT.read_text(encoding="utf-8").split("\n")
    found = []
    for number, line in enumerate(lines):
        if not line.startswith("curl -X POST"):
            continue
        path = line.split()[3].split("/api/v1", 1)[1]
        fields = []
        for follow in lines[number + 1 :]:
            if not follow.strip().startswith(("-u", "-d")):
                break
            if matched := re.match(r'\s*-d "(.*)"', follow):
                fields.append(matched.group(1))
        found.append(Example(number + 1, path, tuple(fields)))
    return found
