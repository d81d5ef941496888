"""Request bodies and query strings: Rails-style bracketed form fields and JSON, to one structure.

`a[b]=1&a[c][]=2&a[c][]=3` and `{"a": {"b": "1", "c": ["2", "3"]}}` decode alike. Form values
stay strings; validation downstream accepts both strings and JSON numbers.

No value may hold U+0000: PostgreSQL text cannot store it and no field means it, so it is
refused here, once for every field, naming the field (`invalid_parameter`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

import orjson

from komoju_server.domain.errors import ApiError, invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_MAX_DEPTH = 8


class BodyError(ApiError):
    def __init__(self) -> None:
        super().__init__("bad_request")


def decode_form(text: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if not text:
        return result
    for pair in text.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = _unquote(raw_key)
        value = _unquote(raw_value)
        if key and "[" not in key and "]" not in key:  # a plain name: most fields
            if isinstance(result.get(key), (dict, list)):
                raise BodyError()
            result[key] = value
        elif (nested := _one_level(key)) is not None:  # `a[b]`: most of the rest
            head, name = nested
            node = result.setdefault(head, {})
            if not isinstance(node, dict) or isinstance(node.get(name), (dict, list)):
                raise BodyError()
            node[name] = value
        else:
            _assign(result, key, value)
    if "\x00" in text or "%00" in text:
        _refuse_nul(result)
    return result


def _unquote(text: str) -> str:
    return unquote_plus(text, errors="strict") if "%" in text or "+" in text else text


def _one_level(key: str) -> tuple[str, str] | None:
    """(a, b) for a key `a[b]` with plain names on both sides, else None."""
    head, bracket, rest = key.partition("[")
    if not head or not bracket or not rest.endswith("]"):
        return None
    name = rest[:-1]
    if not name or "[" in name or "]" in name or "]" in head:
        return None
    return head, name


def decode_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a request body by its content type; anything undecodable is 400 bad_request."""
    if not body.strip():
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        if media == "application/json" or (not media and body.lstrip()[:1] in (b"{", b"[")):
            data = _json(body)
            if not isinstance(data, dict):
                raise BodyError()
            if b"\\u0000" in body:
                _refuse_nul(data)
            return data
        return decode_form(body.decode("utf-8"))
    except (UnicodeDecodeError, orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        raise BodyError() from exc


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses numbers beyond a double (1e400); JSON allows them, and KOMOJU reads
        # them as Infinity, which the field's own rule then refuses by name. Python's parser
        # takes them; NaN and Infinity literals are not JSON, and lone surrogates (which it
        # lets through) no database can store, so those stay undecodable.
        data = json.loads(body.decode("utf-8"), parse_constant=_not_json)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
        return data


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _refuse_nul(data: dict[str, Any]) -> None:
    """`invalid_parameter` naming the first field whose value (or key) holds U+0000."""
    stack: list[tuple[str | None, Any]] = [(None, data)]
    while stack:
        param, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise invalid(param or "")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    if param is None:
                        raise BodyError()
                    raise invalid(param)
                stack.append((key if param is None else f"{param}[{key}]", item))
        elif isinstance(value, list):  # a list is named by itself, as the fields taking lists do
            stack.extend((param, item) for item in value)


def _assign(root: dict[str, Any], key: str, value: str) -> None:
    match = _KEY.match(key)
    if not match:
        raise BodyError()
    head, rest = match.group(1), match.group(2)
    path: list[str] = [head] + (rest[1:-1].split("][") if rest else [])
    if len(path) > _MAX_DEPTH:
        raise BodyError()
    node: Any = root
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        if isinstance(node, list):
            # `a[][x]=1&a[][y]=2` builds one hash until a key repeats, as Rack does.
            if part != "":
                raise BodyError()
            if last:
                node.append(value)
                return
            if following == "":
                raise BodyError()
            if not node or not isinstance(node[-1], dict) or following in node[-1]:
                node.append({})
            node = node[-1]
            continue
        if part == "":
            raise BodyError()
        if last:
            if part in node and isinstance(node[part], (dict, list)):
                raise BodyError()
            node[part] = value
            return
        child = node.get(part)
        want_list = following == ""
        if child is None:
            child = [] if want_list else {}
            node[part] = child
        elif isinstance(child, str) or isinstance(child, list) != want_list:
            raise BodyError()
        node = child
