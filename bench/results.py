"""Results, the goals they are held to, and the table that shows them next to the baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bench.wrk import WrkRun


@dataclass(frozen=True)
class Result:
    """One measured line. `unit` is "req/s" for HTTP endpoints; other scenarios (webhook
    deliveries) may count something else, and then have no ratio to the baseline."""

    name: str
    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    unit: str = "req/s"
    note: str = ""
    profile: str = ""  # where the server's time went, when it was profiled
    others: float = 0.0  # cores other processes used meanwhile: above ~0.15 the line is disturbed

    @classmethod
    def from_wrk(cls, name: str, run: WrkRun, note: str = "", profile: str = "") -> Result:
        return cls(name, run.requests_per_s, run.p50_ms, run.p99_ms, run.errors, note=note, profile=profile)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Goal:
    """What an endpoint must reach: a share of the baseline's req/s and a p99 bound."""

    name: str
    min_ratio: float
    max_p99_ms: float

    def verdicts(self, result: Result, baseline: Result) -> list[tuple[str, bool]]:
        ratio = result.rate / baseline.rate if baseline.rate else 0.0
        p99 = result.p99_ms if result.p99_ms is not None else float("inf")
        return [
            (f"{self.name}: req/s >= {self.min_ratio:g} x baseline (got {ratio:.2f} x)", ratio >= self.min_ratio),
            (f"{self.name}: p99 < {self.max_p99_ms:g} ms (got {p99:.2f} ms)", p99 < self.max_p99_ms),
            (f"{self.name}: no errors (got {result.errors})", result.errors == 0),
        ]


# Issue 3: on SQLite, at 32 connections.
GOALS: tuple[Goal, ...] = (Goal("POST /api/v1/payments", min_ratio=0.5, max_p99_ms=20.0),)

COLUMNS = ("endpoint", "req/s", "p50 ms", "p99 ms", "errors", "req/s vs baseline", "p99 vs baseline")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def row(result: Result, baseline: Result | None) -> list[str]:
    rate = f"{result.rate:,.0f}" + ("" if result.unit == "req/s" else f" {result.unit}")
    ratio = p99_ratio = "-"
    if baseline is not None and result.unit == "req/s" and baseline.rate:
        ratio = f"{result.rate / baseline.rate:.2f} x"
        if result.p99_ms is not None and baseline.p99_ms:
            p99_ratio = f"{result.p99_ms / baseline.p99_ms:.2f} x"
    name = result.name + (f" ({result.note})" if result.note else "")
    return [name, rate, _ms(result.p50_ms), _ms(result.p99_ms), str(result.errors), ratio, p99_ratio]


def table(results: Sequence[Result], baseline: Result | None) -> str:
    """A Markdown table, so that it can be pasted into a README as printed."""
    rows = [list(COLUMNS)] + [row(r, baseline) for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]])


def check_goals(results: Sequence[Result], baseline: Result | None) -> list[tuple[str, bool]]:
    if baseline is None:
        return []
    by_name = {r.name: r for r in results}
    verdicts: list[tuple[str, bool]] = []
    for goal in GOALS:
        if goal.name in by_name:
            verdicts += goal.verdicts(by_name[goal.name], baseline)
    return verdicts
