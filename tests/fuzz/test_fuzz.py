"""Fuzzing from the API document: schemathesis generates requests for every operation of the
server's own OpenAPI document (`api/openapi.py`, strict: answers closed) and checks each
answer, in process, on SQLite and on PostgreSQL:

- no 5xx;
- the status is one the operation documents, with the documented content type, and the body
  and headers conform to the document;
- every 4xx is KOMOJU's error envelope, with a code the server declares (`domain/errors.py`).

Bounded and repeatable: `EXAMPLES` requests per operation and database (derandomized, no
example database), about 13 s for both databases on two workers here;
`KOMOJU_FUZZ_EXAMPLES=500` runs longer. Requests are sent with the test merchant's secret key, so that most reach the
handlers rather than the key check.

Nothing leaves this machine: fuzzed bodies carry webhook URLs, so while these tests run the
webhook connector refuses every address but loopback before it resolves a name (no DNS
either).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from komoju_server.api import openapi
from komoju_server.domain.errors import ERRORS
from komoju_server.webhooks import connect
from tests.conftest import BACKENDS
from tests.inprocess import URL, InProcessServer
from tests.support import create_database, drop_database

# schemathesis's own strategies use `random` in a way hypothesis deprecates: theirs to change.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

EXAMPLES = int(os.environ.get("KOMOJU_FUZZ_EXAMPLES", "25"))
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

# Fuzzing phase only (hypothesis draws valid and invalid requests from the document): the
# coverage phase (every boundary of every field) is thorough but takes minutes here.
CONFIG = SchemathesisConfig.from_dict({"seed": 20261203, "phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(openapi.document(strict=True), config=CONFIG).exclude(
    # It puts the merchant's test mode into maintenance: every later call answers 503, as it
    # should (tests/api/test_sandbox.py), and the fuzzing would stop meaning anything.
    method="POST",
    path="/sandbox/maintenance",
)


def komoju_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answer is {"error": {"code", "message", "param"?, "details"?}} with a known code."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not KOMOJU's envelope: {body!r}"
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "param", "details"}, error
    assert error["code"] in ERRORS, f"undeclared error code {error['code']!r}"
    assert isinstance(error["message"], str) and error["message"], error
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    komoju_error_envelope,
]


async def _loopback_only(self: connect.PolicyBackend, host: str, port: int) -> list[str]:
    if host.strip("[]") not in LOOPBACK:
        raise connect.Refused("fuzzing: off this machine")
    return [host.strip("[]")]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server of its own (what fuzzing writes stays out of the other tests' merchant)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connect.PolicyBackend, "checked", _loopback_only)
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'komoju.db'}"
        else:
            name = f"komoju_test_fuzz_{os.getpid()}"
            url = create_database(name)
            request.addfinalizer(lambda: drop_database(name))
        server = InProcessServer.start(url, secret_key="sk_test_fuzz", publishable_key="pk_test_fuzz")
        try:
            with httpx.Client(transport=server.transport, base_url=URL, auth=("sk_test_fuzz", "")) as client:
                yield client
        finally:
            server.stop()


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_answer_conforms(case: Any, fuzzed: httpx.Client) -> None:
    sent = case.as_transport_kwargs(base_url=f"{URL}/api/v1")
    body = sent.get("data")
    response = fuzzed.request(
        sent["method"],
        sent["url"],
        params=sent.get("params"),
        headers=sent.get("headers"),  # the client's key is added to them
        json=sent.get("json") if "json" in sent else None,
        content=body if isinstance(body, bytes | str) else None,
        data=body if isinstance(body, dict) else None,
    )
    case.validate_response(response, checks=CHECKS)


class _Answer:
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self._body = status_code, body

    def json(self) -> Any:
        return self._body


@pytest.mark.parametrize(
    "body",
    [
        {"message": "no envelope"},
        {"error": {"code": "not_a_code_of_ours", "message": "m"}},
        {"error": {"code": "not_found", "message": ""}},
        {"error": {"code": "not_found", "message": "m", "trace": "..."}},
    ],
)
def test_the_envelope_check_catches_what_is_not_komojus(body: Any) -> None:
    with pytest.raises(AssertionError):
        komoju_error_envelope(None, _Answer(404, body), None)


def test_the_envelope_check_passes_komojus() -> None:
    body = {"error": {"code": "not_found", "message": "Not found.", "param": None}}
    assert komoju_error_envelope(None, _Answer(404, body), None) is True
    assert komoju_error_envelope(None, _Answer(200, {"id": "x"}), None) is None
