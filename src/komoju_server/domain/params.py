"""Checks for the request parameters that several resources share."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any

from komoju_server.domain import rules
from komoju_server.domain.errors import invalid, missing

LOCALES = ("ja", "en", "ko")
METADATA_KEY_MAX = 30
METADATA_VALUE_MAX = 2000
METADATA_MAX_KEYS = 50


def present(value: Any) -> bool:
    return value is not None and value != ""


def text(value: Any, param: str, most: int = 255) -> str | None:
    if not present(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(param)
    clean = str(value)
    if len(clean) > most:
        raise invalid(param)
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
    raise invalid(param)


def locale(value: Any, param: str = "locale") -> str:
    if not present(value):
        return "ja"
    if value not in LOCALES:
        raise invalid(param)
    return str(value)


def url(value: Any, param: str) -> str | None:
    return rules.url(value, param) if present(value) else None


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    """String keys (at most 30 characters) to string values (at most 2000); numbers become strings."""
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or len(value) > METADATA_MAX_KEYS:
        raise invalid(param)
    clean: dict[str, str] = {}
    for key, item in value.items():
        name = f"{param}[{key}]"
        if not key or len(key) > METADATA_KEY_MAX:
            raise invalid(name)
        if item is None:
            continue
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, (str, int, float)):
            raise invalid(name)
        item = str(item)
        if len(item) > METADATA_VALUE_MAX:
            raise invalid(name)
        clean[key] = item
    return clean


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
