"""Reading a body over a real connection: a body the connection ended halfway (the client gone,
or timed out: protocol.py) is never acted on; in process there is no connection to ask."""

from __future__ import annotations

import weakref
from types import SimpleNamespace
from typing import Any

from komoju_server.api.requests import cut_off
from komoju_server.protocol import BODY_EXTENSION


def _request(scope: dict[str, Any]) -> Any:
    return SimpleNamespace(scope=scope)


class _Cycle:  # uvicorn's request cycle, as far as cut_off reads it
    def __init__(self, more_body: bool) -> None:
        self.more_body = more_body


def test_a_body_is_cut_off_while_the_connection_still_expected_more():
    expecting, complete = _Cycle(more_body=True), _Cycle(more_body=False)
    assert cut_off(_request({"extensions": {BODY_EXTENSION: weakref.ref(expecting)}})) is True
    assert cut_off(_request({"extensions": {BODY_EXTENSION: weakref.ref(complete)}})) is False


def test_in_process_nothing_is_cut_off():
    assert cut_off(_request({})) is False
    assert cut_off(_request({"extensions": {}})) is False
