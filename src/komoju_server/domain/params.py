"""Checks for the request parameters that several resources share."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from komoju_server.domain import rules
from komoju_server.domain.errors import invalid, length, missing, not_one_of

LOCALES = ("ja", "en", "ko")


def present(value: Any) -> bool:
    return value is not None and value != ""


def text(value: Any, param: str, most: int = 255) -> str | None:
    if not present(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(param, length(most))
    clean = str(value)
    if len(clean) > most:
        raise invalid(param, length(most))
    return clean


def one_or_more(value: Any, param: str, allowed: Sequence[str]) -> tuple[str, ...] | None:
    """A filter that takes one value or several: `a,b` (as KOMOJU's list filters take them), a
    JSON list, or `param[]=a&param[]=b`; each one of `allowed`, else invalid. None: no filter."""
    if not present(value):
        return None
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise invalid(param)
        for piece in item.split(","):
            name = piece.strip()
            if name not in allowed:
                raise invalid(param)
            if name not in found:
                found.append(name)
    return tuple(found) if found else None


def boolean(value: Any, param: str, default: bool) -> bool:
    if not present(value):
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise invalid(param, not_one_of(("true", "false")))


def locale(value: Any, param: str = "locale") -> str:
    if not present(value):
        return "ja"
    if value not in LOCALES:
        raise invalid(param, not_one_of(LOCALES))
    return str(value)


def url(value: Any, param: str) -> str | None:
    return rules.url(value, param) if present(value) else None


@dataclass(frozen=True)
class MetadataRules:
    """What `metadata` may hold, on every resource that takes it (payments, customers,
    sessions, subscriptions). Values keep their JSON type (a number stays a number, an object
    an object); the limits on strings are KOMOJU's reference's, the others this server's."""

    key_length: int = 30  # KOMOJU: "Keys have a maximum length of 30 characters"
    value_length: int = 2000  # KOMOJU: "Values have a maximum length of 2000 characters" (strings)
    entries: int = 50  # keys and list items, nested ones included: what flat metadata always had
    depth: int = 5  # objects and lists nested within metadata, itself the first
    smallest: int = -(2**63)  # integers a 64-bit column (and every JSON library) holds
    largest: int = 2**63 - 1


METADATA = MetadataRules()
Metadata = dict[str, Any]


def metadata(value: Any, param: str = "metadata", limits: MetadataRules = METADATA) -> Metadata:
    """A JSON object kept as sent: string keys, and strings, numbers, booleans, null, objects and
    lists as values, within `limits`. Anything beyond them is invalid_parameter naming where:
    `metadata[key]`, `metadata[key][inner]`, `metadata[key][0]`; too many entries name `metadata`."""
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(param)
    return _metadata_object(value, param, 1, limits, [0], param)


def _metadata_object(
    value: dict[Any, Any], param: str, depth: int, limits: MetadataRules, seen: list[int], top: str
) -> Metadata:
    clean: Metadata = {}
    for key, item in value.items():
        name = f"{param}[{key}]"
        if not isinstance(key, str) or not key or len(key) > limits.key_length:
            raise invalid(name)
        clean[key] = _metadata_value(item, name, depth, limits, seen, top)
    return clean


def _metadata_value(item: Any, name: str, depth: int, limits: MetadataRules, seen: list[int], top: str) -> Any:
    seen[0] += 1
    if seen[0] > limits.entries:
        raise invalid(top)
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int):
        if not limits.smallest <= item <= limits.largest:
            raise invalid(name)
        return item
    if isinstance(item, float):
        if not math.isfinite(item):  # 1e400 is read as infinite: JSON cannot say it back
            raise invalid(name)
        return item
    if isinstance(item, str):
        if len(item) > limits.value_length:
            raise invalid(name)
        return item
    if isinstance(item, (dict, list)) and depth >= limits.depth:
        raise invalid(name)
    if isinstance(item, dict):
        return _metadata_object(item, name, depth + 1, limits, seen, top)
    if isinstance(item, list):
        return [_metadata_value(x, f"{name}[{i}]", depth + 1, limits, seen, top) for i, x in enumerate(item)]
    raise invalid(name)


FRAUD_FIELDS = ("customer_ip", "customer_email", "customer_id", "browser_language", "browser_user_agent")
# KOMOJU's schema: these depend on customer_ip (customer_id may come alone).
NEEDS_CUSTOMER_IP = ("customer_email", "browser_language", "browser_user_agent")


def fraud_details(value: Any, param: str = "fraud_details") -> dict[str, str] | None:
    if not present(value):
        return None
    if not isinstance(value, dict):
        raise invalid(param)
    unknown = set(value) - set(FRAUD_FIELDS)
    if unknown:
        raise invalid(f"{param}[{sorted(unknown)[0]}]")
    clean = {k: text(v, f"{param}[{k}]", 2000) for k, v in value.items() if present(v)}
    if "customer_ip" in clean:
        try:
            ipaddress.ip_address(clean["customer_ip"])
        except ValueError as exc:
            raise invalid(f"{param}[customer_ip]") from exc
    elif set(clean) & set(NEEDS_CUSTOMER_IP):
        raise missing(f"{param}[customer_ip]")
    if "customer_email" in clean:
        clean["customer_email"] = rules.email(clean["customer_email"], f"{param}[customer_email]")
    return {k: v for k, v in clean.items() if v is not None}


_ID = re.compile(r"[a-z0-9]{1,64}")


def object_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None  # not `$`, which also matches before a final newline
