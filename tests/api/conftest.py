"""What the API tests of several hosts share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.inprocess import InProcessServer


@pytest.fixture
def hosts(postgres_url: str) -> Iterator[tuple[InProcessServer, InProcessServer]]:
    """Two servers, as on two hosts, on one PostgreSQL database."""
    a = InProcessServer.start(postgres_url)
    try:
        b = InProcessServer.start(postgres_url)
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
