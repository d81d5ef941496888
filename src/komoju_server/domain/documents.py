"""How a resource is stored: its fields as one JSON document, all but `version`, which the row
keeps (and bumps on every change).

Shallow on purpose: orjson walks the nested lists and dicts itself, where
`dataclasses.asdict` deep-copied them first, a third of a POST /sessions. Read back
positionally when the document is in the current field order (binding some 36 keywords, or
looking each field up, was a fifth of a list page of payments); an older document, written
before a field was added, is read by name and the missing fields take their defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")


class Document(Generic[T]):
    """The document of one dataclass with a `version` field, every other field a JSON value."""

    def __init__(self, kind: type[T]) -> None:
        names = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
        if names[-1] != "version":
            raise TypeError(f"{kind.__name__}: `version` must be the last field")
        self._kind = kind
        self._fields = _fields_getter(names[:-1])
        # The field names as orjson's own key objects, which it hands out again for the same
        # keys: comparing a document's keys with them compares identities.
        self._layout = tuple(orjson.loads(orjson.dumps(dict.fromkeys(names))))

    def dumps(self, value: T) -> str:
        return orjson.dumps(self._fields(value)).decode()

    def loads(self, doc: str | bytes, version: int) -> T:
        data: dict[str, Any] = orjson.loads(doc)
        data["version"] = version  # last, as the field is (or where an older document had it)
        if tuple(data) == self._layout:
            return self._kind(*data.values())
        return self._kind(**data)


def _fields_getter(names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """A function giving a value's fields (`names`) as a dict, written as one dict display
    (`{"id": value.id, ...}`): CPython builds it with an attribute load a field, where
    getting them all, pairing them with their names and making the dict took twice as long."""
    if not all(name.isidentifier() for name in names):
        raise TypeError(f"not field names: {names}")
    entries = ", ".join(f"{name!r}: value.{name}" for name in names)
    namespace: dict[str, Any] = {}
    exec(f"def fields(value):\n    return {{{entries}}}\n", namespace)  # noqa: S102 - field names only
    return namespace["fields"]  # type: ignore[no-any-return]
