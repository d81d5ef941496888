"""How a resource is stored: its fields as one JSON document, all but `version`, which the row
keeps (and bumps on every change).

Shallow on purpose: orjson walks the nested lists and dicts itself, where
`dataclasses.asdict` deep-copied them first, a third of a POST /sessions.
"""

from __future__ import annotations

import operator
from dataclasses import fields
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")


class Document(Generic[T]):
    """The document of one dataclass with a `version` field, every other field a JSON value."""

    def __init__(self, kind: type[T]) -> None:
        self._kind = kind
        self._names = tuple(f.name for f in fields(kind) if f.name != "version")  # type: ignore[arg-type]
        self._values = operator.attrgetter(*self._names)

    def dumps(self, value: T) -> str:
        return orjson.dumps(dict(zip(self._names, self._values(value), strict=True))).decode()

    def loads(self, doc: str | bytes, version: int) -> T:
        data: dict[str, Any] = orjson.loads(doc)
        data["version"] = version
        return self._kind(**data)
