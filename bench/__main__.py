"""`python -m bench`: measure the real server next to the bare baseline, print one table.

The baselines (bench/baseline.py) run first, then `komoju-server serve` on a fresh database
for each group of scenarios; every server is pinned to one core and wrk to the other, so the
two never compete. With `--paired` the baseline server stays up (idle) beside the real one,
and each line's baseline is measured just before the line. On PostgreSQL (`--database
postgresql`) the cluster is the run's own and shares the servers' core, and each `--workers
N` runs the baselines and the servers with N processes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.peers import LOCALSTRIPE, start_localstripe
from bench.postgres import Postgres
from bench.processes import Others, Server, background_cpu, ensure_wrk, wait_quiet
from bench.results import STALLED, Result, Verdict, check_goals, over_rounds, stalled, table
from bench.scenarios import (
    BASELINES,
    ENDPOINTS,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    Context,
    RunSettings,
    Scenario,
    compared,
    seed,
)
from bench.webhooks import WEBHOOK_SCENARIOS

HERE = Path(__file__).resolve().parent
# Other processes using more than this many cores make the numbers untrustworthy.
QUIET_CORES = 0.15
ROOT = HERE.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark komoju-server against a bare baseline.")
    parser.add_argument("--seconds", type=float, default=10, help="measured time per endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured load before each endpoint (default 2)")
    parser.add_argument("--quick", action="store_true", help="2 s per endpoint, 1 s warm-up")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: it has one core)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core the server is pinned to")
    parser.add_argument("--client-cpu", type=int, default=1, help="core wrk is pinned to")
    parser.add_argument("--no-pin", action="store_true", help="run without taskset")
    parser.add_argument("--seed", type=int, default=100, help="payments created before measuring (default 100)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="measure the endpoint named TEXT, or those whose name contains it",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baselines (no ratios)")
    parser.add_argument(
        "--peer",
        action="append",
        choices=("localstripe",),
        default=[],
        help="also measure a peer (localstripe: installed from PyPI into a venv of its own on first use)",
    )
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite", help="the servers' database (default sqlite)"
    )
    parser.add_argument(
        "--workers",
        action="append",
        type=int,
        default=[],
        metavar="N",
        help="with --database postgresql: server processes (repeatable: each N is a run of its own; default 1)",
    )
    parser.add_argument(
        "--profile", action="append", default=[], metavar="NAME", help="sample the server with py-spy while NAME runs"
    )
    parser.add_argument(
        "--profile-native", action="store_true", help="with --profile: C frames and waits too (slows the server)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="measure everything N times, baselines and servers in turn; a goal holds when it holds in most rounds",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="measure each line's baseline just before the line (both servers kept up), not all baselines first",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, scripts)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to leave the machine idle",
    )
    return parser


def server_argv(database_url: str, workers: int, extra: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "komoju_server", "serve", "--port", "0", "--database-url", database_url,
        "--workers", str(workers), "--secret-key", SECRET_KEY, "--publishable-key", PUBLISHABLE_KEY, *extra,
    ]  # fmt: skip


def baseline_argv(database: Path | str, workers: int) -> list[str]:
    """The baseline on a SQLite file, or on a PostgreSQL URL with `workers` processes."""
    where = (
        ["--postgres", database, "--workers", str(workers)]
        if isinstance(database, str)
        else ["--database", str(database)]
    )
    return [sys.executable, str(HERE / "baseline.py"), "--port", "0", *where, "--secret-key", SECRET_KEY]


def groups(scenarios: Sequence[Scenario]) -> list[tuple[tuple[str, ...], list[Scenario]]]:
    """Scenarios by server flags, in the order they were listed."""
    out: dict[tuple[str, ...], list[Scenario]] = {}
    for scenario in scenarios:
        out.setdefault(tuple(scenario.server_args), []).append(scenario)
    return list(out.items())


def selected(scenarios: Sequence[Scenario], only: Sequence[str]) -> list[Scenario]:
    """The scenarios named exactly by one of `only`, or, for a text that names none exactly,
    those whose name contains it; all of them without `only`."""
    if not only:
        return list(scenarios)
    names = {s.name for s in scenarios}
    return [s for s in scenarios if any(s.name == text or (text not in names and text in s.name) for text in only)]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 2, 1
    if args.rounds < 1:
        raise SystemExit("bench: --rounds takes 1 or more")
    postgresql = args.database == "postgresql"
    if args.workers and not postgresql:
        raise SystemExit("bench: --workers needs --database postgresql (SQLite takes one server process)")
    ensure_wrk(install=not args.no_install)
    cores = os.cpu_count() or 1
    pin = not args.no_pin and cores >= 2
    if not args.no_pin and not pin:
        print("bench: one core only; running unpinned (numbers are not comparable)", file=sys.stderr)
    server_cpu = args.server_cpu if pin else None
    scenarios = selected([*ENDPOINTS, *WEBHOOK_SCENARIOS], args.only)
    if not scenarios:
        raise SystemExit(f"bench: no endpoint matches {args.only}")
    workdir = Path(tempfile.mkdtemp(prefix="komoju-bench-"))
    settings = RunSettings(
        seconds=args.seconds,
        warmup_seconds=args.warmup,
        connections=args.connections,
        threads=args.threads,
        client_cpu=args.client_cpu if pin else None,
        workdir=workdir,
        profile=frozenset(args.profile),
        profile_native=args.profile_native,
    )
    print(
        f"bench: {args.seconds:g} s per endpoint after {args.warmup:g} s warm-up, {args.connections} connections, "
        f"server on core {server_cpu}, wrk on core {settings.client_cpu}; {cores} cores, {platform.python_version()}; "
        f"{args.database}",
        flush=True,
    )
    busy = wait_quiet(QUIET_CORES, args.wait_quiet) if args.wait_quiet else background_cpu()
    print(f"bench: other processes use {busy:.2f} cores before the run", flush=True)
    busiest = busy
    rounds: list[list[Result]] = []
    postgres: Postgres | None = None
    files = iter(range(1_000_000))

    def database() -> Path | str:
        return postgres.database() if postgres is not None else workdir / f"komoju-{next(files)}.db"

    try:
        if postgresql:
            postgres = Postgres(server_cpu)
            # The servers' vault key, the same for every process (a fresh one: nothing is kept).
            os.environ["KOMOJU_VAULT_KEY"] = secrets.token_hex(32)
        companions = postgres.pids() if postgres is not None else ()
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"bench: round {number} of {args.rounds}", flush=True)
            results: list[Result] = []
            for workers in args.workers or [1]:
                suffix = f" [postgresql, {workers} process{'es' if workers > 1 else ''}]" if postgresql else ""
                wanted = {b for s in scenarios if (b := getattr(s, "baseline", "write")) is not None}
                baseline: Context | None = None
                if not args.no_baseline:
                    server = Server.start("baseline", baseline_argv(database(), workers), server_cpu)
                    baseline = Context(server, settings, companions=companions)
                try:
                    if baseline is not None:
                        seed(baseline, args.seed, "/payments")
                    if baseline is not None and not args.paired:  # every baseline first, then the servers
                        for kind, endpoint in BASELINES.items():
                            if kind in wanted:
                                result = _measure(endpoint, baseline)
                                results.append(dataclasses.replace(result, name=result.name + suffix))
                        baseline.server.stop()
                        baseline = None
                    for extra, members in groups(scenarios):
                        url = f"sqlite:///{db}" if isinstance(db := database(), Path) else db
                        argv = server_argv(url, workers, extra)
                        server = Server.start("komoju-server", argv, server_cpu, cwd=str(ROOT))
                        try:
                            ctx = Context(server, settings, companions=companions)
                            seed(ctx, args.seed)
                            busiest = max(busiest, background_cpu(0.5, server.pid, companions))
                            for scenario in members:
                                results += _line(scenario, ctx, baseline, suffix, not args.no_baseline)
                        finally:
                            server.stop()
                finally:
                    if baseline is not None:
                        baseline.server.stop()
            rounds.append(results)
        if "localstripe" in args.peer:  # once, in the last round: it is slow, and far behind
            server = start_localstripe(workdir, server_cpu)
            try:
                result = _measure(LOCALSTRIPE, Context(server, settings))
                peer = compared(LOCALSTRIPE, result, baselines=not args.no_baseline)
                if args.paired and peer.vs is not None:  # held to the round's last write baseline
                    peer = dataclasses.replace(peer, vs=_last_named(rounds[-1], peer.vs))
                rounds[-1].append(peer)
            finally:
                server.stop()
    finally:
        for scenario in scenarios:
            close = getattr(scenario, "close", None)  # a scenario's own helpers (a receiver)
            if close is not None:
                close()
        if postgres is not None:
            postgres.remove()
        if not args.keep:
            _remove(workdir)
        else:
            print(f"bench: kept {workdir}")
    every = [result for results in rounds for result in results]
    for result in every:
        if result.profile:
            print(f"\nprofile of the server during {result.name}:\n{result.profile}")
    unknown = set(args.profile) - {r.name for r in every}
    if unknown:
        print(f"bench: nothing profiled for {sorted(unknown)}: give an endpoint's exact name", file=sys.stderr)
    per_round = [check_goals(results) for results in rounds]
    for number, (results, verdicts) in enumerate(zip(rounds, per_round, strict=True), 1):
        print(f"\nround {number} of {len(rounds)}:" if len(rounds) > 1 else "")
        print(table(results))
        _print_verdicts(verdicts)
    verdicts = per_round[0] if len(rounds) == 1 else over_rounds(per_round)
    if len(rounds) > 1:
        _print_verdicts(verdicts, f"over {len(rounds)} rounds:")
    disturbed = [r.name for r in every if r.others >= QUIET_CORES]
    if busiest >= QUIET_CORES or disturbed:
        print(
            f"\nWARNING: other processes used up to {max([busiest] + [r.others for r in every]):.2f} cores "
            f"during this run ({', '.join(disturbed) or 'between measurements'}); those numbers are low and noisy. "
            "Run again on an idle machine (--wait-quiet 300 waits for one)."
        )
    paused = [
        f"{result.name} (round {number})"
        for number, results in enumerate(rounds, 1)
        for result in results
        if stalled(result) and any(other.vs == result.name for other in results)
    ]
    if paused:
        print(
            f"\nWARNING: the machine stalled during {'; '.join(paused)} (p99 over {STALLED} x p50): the lines "
            "held to it look faster than they are, and no goal holds next to it."
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "argv": list(argv) if argv is not None else sys.argv[1:],
                    "background_cores": round(busiest, 3),
                    "rounds": [
                        {"results": [r.as_dict() for r in results], "goals": [_as_dict(v) for v in found]}
                        for results, found in zip(rounds, per_round, strict=True)
                    ],
                    "goals": [_as_dict(v) for v in verdicts],
                },
                indent=2,
            )
        )
    return 1 if args.check and not all(v.met for v in verdicts) else 0


def _print_verdicts(verdicts: Sequence[Verdict], heading: str = "") -> None:
    if verdicts:
        print(f"\n{heading}" if heading else "")
        for verdict in verdicts:
            print(f"{'PASS' if verdict.met else 'MISS'}  {verdict.text}")


def _as_dict(verdict: Verdict) -> dict[str, object]:
    return {"goal": verdict.claim, "got": verdict.got, "met": verdict.met}


def _line(scenario: Scenario, ctx: Context, paired: Context | None, suffix: str, baselines: bool) -> list[Result]:
    """A line's result, named and held to its baseline. With a `paired` baseline server, that
    baseline is measured first, just before the line, and the line is held to that measurement:
    seconds apart rather than minutes (this VM's speed drifts by a third between minutes)."""
    kind = getattr(scenario, "baseline", "write")
    if paired is None or kind is None:
        return [compared(scenario, _measure(scenario, ctx), suffix, baselines=baselines)]
    before = _measure(BASELINES[kind], paired)
    before = dataclasses.replace(before, name=f"{before.name}, before {scenario.name}{suffix}")
    line = compared(scenario, _measure(scenario, ctx), suffix)
    return [before, dataclasses.replace(line, vs=before.name)]


def _last_named(results: Sequence[Result], prefix: str) -> str | None:
    return next((r.name for r in reversed(results) if r.name.startswith(prefix)), None)


def _measure(scenario: Scenario, ctx: Context) -> Result:
    print(f"bench: {scenario.name} ...", end=" ", flush=True)
    others = Others(ctx.server.pid, ctx.companions)
    result = dataclasses.replace(scenario.measure(ctx), others=round(others.cores(), 3))
    p99 = f"{result.p99_ms:.2f} ms" if result.p99_ms is not None else "-"
    print(
        f"{result.rate:,.0f} {result.unit}, p99 {p99}, errors {result.errors}; "
        f"other processes used {result.others:.2f} cores",
        flush=True,
    )
    return result


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
