"""Request bodies and query strings: Rails-style bracketed form fields and JSON, to one structure.

`a[b]=1&a[c][]=2&a[c][]=3` and `{"a": {"b": "1", "c": ["2", "3"]}}` decode alike. Form values
stay strings; validation downstream accepts both strings and JSON numbers.

No value may hold U+0000: PostgreSQL text cannot store it and no field means it, so it is
refused here, once for every field, naming the field (`invalid_parameter`).

Shapes are bounded (limits.py): nesting deeper than `max_depth` or an array longer than
`max_array` is 422 `unprocessable_entity` naming the top-level field. An integer too long
for Python's int parser (over 4,300 digits) is read as a float, so infinite, as a number
beyond a double is.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from komoju_server.domain.errors import ApiError, invalid
from komoju_server.limits import Limits, too_deep, too_long

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_DEFAULT_LIMITS = Limits()
# Python refuses to parse longer integers (sys.get_int_max_str_digits): a guard against
# quadratic conversion, which a float's parser does not have.
_INT_DIGITS = 4_300


class BodyError(ApiError):
    def __init__(self) -> None:
        super().__init__("bad_request")


def decode_form(text: str, limits: Limits = _DEFAULT_LIMITS) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if not text:
        return result
    for pair in text.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key, shape = _KEYS.get(raw_key) or _read_key(raw_key)
        value = _unquote(raw_value)
        if shape is _PLAIN:  # a plain name: most fields
            if isinstance(result.get(key), (dict, list)):
                raise BodyError()
            result[key] = value
        elif shape is not _DEEP:  # `a[b]`: most of the rest
            head, name = shape
            node = result.setdefault(head, {})
            if not isinstance(node, dict) or isinstance(node.get(name), (dict, list)):
                raise BodyError()
            node[name] = value
        else:
            _assign(result, key, value, limits)
    if "\x00" in text or "%00" in text:
        _refuse_nul(result)
    return result


# A field name as sent (`payment_details%5Btype%5D`), decoded and sorted once: clients send
# the same few names on every request, and unquoting them was most of a form's decoding.
_PLAIN = ("", "")
_DEEP = ("[", "]")
_KEYS: dict[str, tuple[str, tuple[str, str]]] = {}
_KEYS_KEPT = 512  # names remembered (of at most _KEY_KEPT_LENGTH characters); others are decoded each time
_KEY_KEPT_LENGTH = 100


def _read_key(raw_key: str) -> tuple[str, tuple[str, str]]:
    key = _unquote(raw_key)
    plain = key and "[" not in key and "]" not in key
    read = key, _PLAIN if plain else (_one_level(key) or _DEEP)
    if len(_KEYS) < _KEYS_KEPT and len(raw_key) <= _KEY_KEPT_LENGTH:
        _KEYS[raw_key] = read
    return read


def _unquote(text: str) -> str:
    if "%" in text:
        # unquote_plus(text, errors="strict") in one step: the text's UTF-8 with its escapes
        # decoded, as UTF-8 again (a broken sequence raises UnicodeDecodeError: 400).
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    return text.replace("+", " ") if "+" in text else text


def _one_level(key: str) -> tuple[str, str] | None:
    """(a, b) for a key `a[b]` with plain names on both sides, else None."""
    head, bracket, rest = key.partition("[")
    if not head or not bracket or not rest.endswith("]"):
        return None
    name = rest[:-1]
    if not name or "[" in name or "]" in name or "]" in head:
        return None
    return head, name


def decode_body(body: bytes, content_type: str | None, limits: Limits = _DEFAULT_LIMITS) -> dict[str, Any]:
    """Decode a request body by its content type; anything undecodable is 400 bad_request."""
    if not body.strip():
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        if media == "application/json" or (not media and body.lstrip()[:1] in (b"{", b"[")):
            data = _json(body, limits)
            if not isinstance(data, dict):
                raise BodyError()
            # Walked only when the body could break a limit: counting bytes is cheap, walking is not.
            if body.count(b"[") + body.count(b"{") > limits.max_depth or body.count(b",") >= limits.max_array:
                _check_shape(data, limits)
            if b"\\u0000" in body:
                _refuse_nul(data)
            return data
        return decode_form(body.decode("utf-8"), limits)
    except (UnicodeDecodeError, orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        raise BodyError() from exc


def _json(body: bytes, limits: Limits) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # deeper than orjson goes (1,024), so deeper than any limit here
            raise too_deep(None, limits.max_depth) from None
        # orjson refuses numbers beyond a double (1e400) or a 64-bit integer; JSON allows them,
        # and KOMOJU reads them as Infinity, which the field's own rule then refuses by name.
        # Python's parser takes them; NaN and Infinity literals are not JSON, and lone
        # surrogates (which it lets through) no database can store, so those stay undecodable.
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=_not_json, parse_int=_integer)
        except RecursionError:  # about 1,000 levels: deeper than any limit here
            raise too_deep(None, limits.max_depth) from None
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
        return data


def _integer(text: str) -> int | float:
    return int(text) if len(text) <= _INT_DIGITS else float(text)


def _check_shape(data: dict[str, Any], limits: Limits) -> None:
    """422 naming the top-level field whose value nests deeper, or holds a longer array, than
    allowed. The body's own object is level 1; `{"a": {"b": [1]}}` is 3 levels deep, as the
    form `a[b][]=1` is."""
    stack: list[tuple[str, Any, int]] = [(key, value, 2) for key, value in data.items()]
    while stack:
        param, value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            if len(value) > limits.max_array:
                raise too_long(param, limits.max_array)
            children = value
        else:
            continue
        if level > limits.max_depth:
            raise too_deep(param, limits.max_depth)
        stack.extend((param, child, level + 1) for child in children)


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


def _assign(root: dict[str, Any], key: str, value: str, limits: Limits) -> None:
    match = _KEY.match(key)
    if not match:
        raise BodyError()
    head, rest = match.group(1), match.group(2)
    path: list[str] = [head] + (rest[1:-1].split("][") if rest else [])
    if len(path) > limits.max_depth:
        raise too_deep(head, limits.max_depth)
    node: Any = root
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        if isinstance(node, list):
            # `a[][x]=1&a[][y]=2` builds one hash until a key repeats, as Rack does.
            if part != "":
                raise BodyError()
            if last:
                _append(node, value, head, limits)
                return
            if following == "":
                raise BodyError()
            if not node or not isinstance(node[-1], dict) or following in node[-1]:
                _append(node, {}, head, limits)
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


def _append(items: list[Any], value: Any, param: str, limits: Limits) -> None:
    if len(items) >= limits.max_array:
        raise too_long(param, limits.max_array)
    items.append(value)
