"""bench.instructions without valgrind: its requests run and answer 200 on both apps, and what
it reads from callgrind's output becomes one request's count and the table."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from bench import instructions

VALGRIND_END = """\
==4242== Events    : Ir
==4242== Collected : 3,456,256,277
==4242==
==4242== I   refs:      3,456,256,277
"""


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """served_app freezes the heap and raises the collector's threshold, as `serve` does: not
    for the rest of the test session."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
@pytest.mark.parametrize(
    ("target", "line"),
    [(target, line) for line in instructions.LINES for target in instructions.TARGETS if target in line.paths],
    ids=lambda value: getattr(value, "name", value),
)
def test_every_line_answers_200_on_the_apps_it_runs_on(target, line):
    asyncio.run(instructions.drive(target, line, requests=3, seeded=2, warm_up=1))


def test_the_edge_lines_run_on_the_server_alone():
    edges = [line for line in instructions.LINES if "edge" in line.name]
    assert [line.method for line in edges] == ["POST", "GET"]
    assert all(set(line.paths) == {"server"} for line in edges)


def test_the_count_is_read_from_what_callgrind_prints_at_exit():
    assert instructions.collected("noise\n" + VALGRIND_END) == 3_456_256_277
    with pytest.raises(RuntimeError, match="no count"):
        instructions.collected("valgrind: command not found")


def test_one_request_is_the_difference_between_the_runs_over_their_difference():
    few = 1_000_000_000
    many = few + (instructions.MANY - instructions.FEW) * 250_000
    assert instructions.per_request(few, many) == 250_000


def test_the_table_puts_the_baseline_over_the_server():
    text = instructions.table({"POST /api/v1/payments": {"server": 800_000.0, "baseline": 200_000.0}})
    lines = text.splitlines()
    assert [c.strip() for c in lines[2].split("|")[1:-1]] == ["POST /api/v1/payments", "800,000", "200,000", "0.25 x"]
    only = instructions.table({"GET /api/v1/payments": {"server": 1_000_000.0}})
    assert only.splitlines()[2].split("|")[-2].strip() == "-"
