"""Payment methods as data (`catalogue.METHODS`), and checking payment_details against them."""

from __future__ import annotations

from typing import Any

from komoju_server.domain.errors import ApiError, invalid, missing, not_one_of
from komoju_server.methods.catalogue import BY_TYPE, TYPES
from komoju_server.methods.method import Family, Field, Method

PARAM = "payment_details"


def method_of(details: Any, param: str = PARAM) -> Method:
    if not isinstance(details, dict):
        raise invalid(param)
    type_ = details.get("type")
    if type_ is None or type_ == "":
        raise missing(f"{param}[type]")
    method = BY_TYPE.get(type_) if isinstance(type_, str) else None
    if method is None:
        raise ApiError(
            "invalid_payment_type",
            f"{param}[type]",
            details=not_one_of(TYPES),
            provided=type_,
            allowed=", ".join(TYPES),
        )
    return method


def clean_details(method: Method, details: dict[str, Any], param: str = PARAM) -> dict[str, Any]:
    """The request's payment_details checked field by field; unknown fields are dropped.

    `null` counts as absent, as real clients send it for fields they do not use.
    """
    clean: dict[str, Any] = {"type": method.type}
    for field in method.fields:
        value = details.get(field.name)
        if value is None or value == "":
            if field.required:
                raise missing(f"{param}[{field.name}]")
            continue  # most of a method's fields are optional and absent: no name to build
        clean[field.name] = field.rule(value, f"{param}[{field.name}]")
    return clean


def split_secrets(method: Method, details: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what may be stored in the clear, what must go to the vault)."""
    secret_names = method.secret_fields
    safe = {k: v for k, v in details.items() if k not in secret_names}
    secret = {k: v for k, v in details.items() if k in secret_names}
    return safe, secret


__all__ = ["BY_TYPE", "TYPES", "Family", "Field", "Method", "clean_details", "method_of", "split_secrets"]
