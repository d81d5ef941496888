"""The pages' words in every language, loaded once from `messages/*.json`.

A file `messages/instructions.json` holding `{"deadline": {"ja": ..., "en": ..., "ko": ...}}`
gives the key `instructions.deadline`. A text may hold `{name}` fields, filled by
`t("instructions.pay_by", date=...)`; the filled text is escaped by the template like any value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib import resources

from komoju_server.pages.locale import LOCALES

Translate = Callable[..., str]


class Messages:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts

    @classmethod
    def load(cls) -> Messages:
        texts: dict[str, Mapping[str, str]] = {}
        folder = resources.files("komoju_server.pages") / "messages"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                namespace = entry.name.removesuffix(".json")
                for key, by_language in json.loads(entry.read_text("utf-8")).items():
                    texts[f"{namespace}.{key}"] = by_language
        return cls(texts)

    @property
    def keys(self) -> list[str]:
        return sorted(self._texts)

    def missing(self) -> list[str]:
        """Keys without a text in one of the languages (a test keeps this empty)."""
        return [f"{key}:{lang}" for key, by in self._texts.items() for lang in LOCALES if not by.get(lang)]

    def translator(self, locale: str) -> Translate:
        def t(key: str, **fields: object) -> str:
            text = self._texts[key][locale]  # an unknown key is a bug: fail the render loudly
            return text.format(**fields) if fields else text

        return t
