"""The benchmark harness's own logic on canned input: wrk's output, Lua literals, the table,
the goals and the profile summary. Nothing here runs wrk or depends on speed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from bench.results import Goal, Result, Verdict, check_goals, over_rounds, table
from bench.scenarios import ENDPOINTS, PAYMENT_FORM, Endpoint, slug

from bench import profile, wrk

# What `wrk --latency -s script.lua` prints when the script carries the harness's done() hook.
CANNED = """\
Running 10s test @ http://127.0.0.1:40123/api/v1/payments
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.24ms    3.01ms  30.11ms   71.20%
    Req/Sec     3.47k   201.33     3.90k    70.00%
  34603 requests in 10.01s, 24.60MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   3457.00
Transfer/sec:      2.46MB
BENCH_RESULT {"requests":34603,"duration_us":10009746,"bytes":25794133,"connect_errors":0,"read_errors":1,\
"write_errors":0,"status_errors":3,"timeouts":2,"p50_us":8305,"p90_us":13062,"p99_us":19920,"mean_us":9241.5,\
"max_us":30110}
"""


def test_parse_output_reads_the_done_hook_line():
    run = wrk.parse_output(CANNED)
    assert run.requests == 34603
    assert run.duration_s == pytest.approx(10.009746)
    assert run.requests_per_s == pytest.approx(34603 / 10.009746)
    assert (run.p50_ms, run.p90_ms, run.p99_ms, run.max_ms) == (8.305, 13.062, 19.92, 30.11)
    assert run.mean_ms == pytest.approx(9.2415)
    assert (run.socket_errors, run.status_errors, run.errors) == (3, 3, 6)


def test_parse_output_without_the_line_says_what_wrk_printed():
    with pytest.raises(ValueError, match="(?s)no result line.*Requests/sec"):
        wrk.parse_output(CANNED.rsplit("BENCH_RESULT", 1)[0])


def test_the_done_hook_prints_the_marker_the_parser_reads():
    assert '"BENCH_RESULT "' in wrk.DONE_HOOK
    assert "latency:percentile(99)" in wrk.DONE_HOOK


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("plain", "[[plain]]"),
        ("a]]b", "[=[a]]b]=]"),
        ("a]]b]=]c", "[==[a]]b]=]c]==]"),
        ("\nfirst", "[[\n\nfirst]]"),
    ],
)
def test_lua_string_is_a_long_bracket_that_cannot_be_closed_early(text, literal):
    assert wrk.lua_string(text) == literal


def test_render_script_sets_the_request_then_extra_lua_then_the_hook():
    script = wrk.render_script("POST", {"Authorization": "Basic eDo="}, PAYMENT_FORM, "-- extra")
    lines = script.splitlines()
    assert lines[0] == "wrk.method = [[POST]]"
    assert lines[1] == "wrk.headers[ [[Authorization]] ] = [[Basic eDo=]]"
    assert lines[2] == f"wrk.body = [[{PAYMENT_FORM}]]"
    assert script.index("-- extra") < script.index("done = function")


def test_payment_form_is_the_test_card_payment():
    assert PAYMENT_FORM == (
        "amount=1000&currency=JPY&payment_details%5Btype%5D=credit_card"
        "&payment_details%5Bnumber%5D=4111111111111111&payment_details%5Bmonth%5D=1&payment_details%5Byear%5D=2030"
    )


def test_the_baselines_ids_begin_with_their_time_as_the_servers_do(monkeypatch: pytest.MonkeyPatch):
    # Made a millisecond apart, they sort in the order they were made: the baseline's inserts
    # land at the end of its id index, as the server's do, rather than on a random page each.
    from bench import baseline

    start = 1_780_000_000_000
    clock = iter((start + i) * 1_000_000 for i in range(40))
    monkeypatch.setattr(baseline, "time", SimpleNamespace(time_ns=lambda: next(clock)))  # its clock alone
    ids = [baseline.new_id() for _ in range(40)]
    assert ids == sorted(ids)
    assert ids[0].startswith(f"{start:012x}")
    assert all(len(made) == 25 and set(made) <= set("0123456789abcdef") for made in ids)
    assert len({made[12:] for made in ids}) == 40  # the rest is random


def test_command_pins_wrk_and_only_loads_this_machine():
    argv = wrk.command("http://127.0.0.1:1/health", "s.lua", 10, 32, 1, 1)
    assert argv[:3] == ["taskset", "-c", "1"]
    assert argv[4:] == ["-t1", "-c32", "-d10s", "--timeout", "10s", "-s", "s.lua", "http://127.0.0.1:1/health"]
    with pytest.raises(ValueError, match="only loads this machine"):
        wrk.run("http://example.com/", "s.lua", 1, 1, 1, None)


def test_endpoints_have_unique_names_and_slugs():
    names = [e.name for e in ENDPOINTS]
    assert len(set(names)) == len(names)
    assert len({slug(n) for n in names}) == len(names)
    assert slug("GET /api/v1/payments/:id") == "get-api-v1-payments-id"


def test_endpoint_headers_carry_basic_auth_and_the_form_type():
    endpoint = Endpoint("x", "POST", "/p", body="a=1")

    class Ctx:
        secret_key = "sk_test_bench"

    assert endpoint.headers(Ctx()) == {
        "Authorization": "Basic c2tfdGVzdF9iZW5jaDo=",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert Endpoint("y", "GET", "/health", auth=False).headers(Ctx()) == {}


def test_table_shows_ratios_to_the_baseline():
    baseline = Result("baseline", 10000.0, 2.5, 8.0)
    post = Result("POST /api/v1/payments", 4000.0, 8.3, 20.0, errors=1, vs="baseline")
    events = Result("webhook deliveries", 1500.0, unit="events/s", vs="baseline")
    lines = table([baseline, post, events]).splitlines()
    assert lines[0].split("|")[1:-1] == [
        " endpoint              ",
        "          req/s ",  # as wide as "1,500 events/s"
        " p50 ms ",
        " p99 ms ",
        " errors ",
        " req/s vs baseline ",
        " p99 vs baseline ",
    ]
    assert [c.strip() for c in lines[3].split("|")[1:-1]] == [
        "POST /api/v1/payments",
        "4,000",
        "8.30",
        "20.00",
        "1",
        "0.40 x",
        "2.50 x",
    ]
    assert [c.strip() for c in lines[4].split("|")[1:-1]] == [
        "webhook deliveries",
        "1,500 events/s",
        "-",
        "-",
        "0",
        "-",
        "-",
    ]


def test_each_line_is_compared_to_the_baseline_it_names():
    write = Result("write baseline", 10000.0, 2.5, 8.0)
    read = Result("read baseline", 20000.0, 1.0, 2.0)
    show = Result("GET /api/v1/payments/:id", 15000.0, 1.5, 3.0, vs="read baseline")
    post = Result("POST /api/v1/payments", 5000.0, 8.0, 12.0, vs="write baseline")
    lines = table([write, read, show, post]).splitlines()
    assert [c.strip() for c in lines[4].split("|")[5:-1]] == ["0", "0.75 x", "1.50 x"]
    assert [c.strip() for c in lines[5].split("|")[5:-1]] == ["0", "0.50 x", "1.50 x"]
    assert [c.strip() for c in lines[2].split("|")[5:-1]] == ["0", "-", "-"]


def test_goals_hold_post_payments_to_0_7_of_its_baseline_and_its_p99_to_1_5_times():
    baseline = Result("baseline", 10000.0, 2.5, 8.0)
    good = Result("POST /api/v1/payments", 7000.0, 8.0, 12.0, vs="baseline")
    slow = Result("POST /api/v1/payments", 6999.0, 8.0, 12.1, vs="baseline")
    assert [v.met for v in check_goals([baseline, good])] == [True, True, True]
    assert [v.met for v in check_goals([baseline, slow])] == [False, False, True]
    assert check_goals([good]) == []  # no baseline in the run: nothing to hold it to
    texts = [v.text for v in Goal("X", 0.5, 1.5).verdicts(Result("X", 1000.0, 1.0, None), baseline)]
    assert texts == [
        "X: req/s >= 0.5 x baseline (got 0.10 x)",
        "X: p99 <= 1.5 x baseline (got inf x)",
        "X: no errors (got 0)",
    ]


def test_a_line_held_to_a_stalled_baseline_holds_no_goal():
    # Seen on this VM: a baseline paused for 0.4 s (p99 403 ms against a p50 of 3 ms) measured
    # a lower rate, and the line after it looked faster than it was.
    stalled = Result("baseline", 8138.0, 2.99, 403.37)
    post = Result("POST /api/v1/payments", 6000.0, 5.5, 12.0, vs="baseline")
    verdicts = [(v.text, v.met) for v in check_goals([stalled, post])]
    why = " (its baseline stalled: p99 403 ms, p50 2.99 ms)"
    assert verdicts == [
        (f"POST /api/v1/payments: req/s >= 0.7 x baseline (got 0.74 x{why})", False),
        (f"POST /api/v1/payments: p99 <= 1.5 x baseline (got 0.03 x{why})", False),
        ("POST /api/v1/payments: no errors (got 0)", True),
    ]
    clean = Result("baseline", 8138.0, 2.99, 2.99 * 50)  # at the bound: a slow tail, not a stall
    assert [v.met for v in check_goals([clean, post])] == [True, True, True]


def test_a_postgresql_line_is_held_to_its_goal_and_reads_only_to_their_share():
    baseline = Result("baseline [postgresql, 2 processes]", 3000.0, 8.0, 20.0)
    post = Result("POST /api/v1/payments [postgresql, 2 processes]", 2400.0, 10.0, 25.0, vs=baseline.name)
    show = Result("GET /api/v1/payments/:id", 1000.0, 1.0, 1.0, vs=baseline.name)
    verdicts = [(v.text, v.met) for v in check_goals([baseline, post, show])]
    assert verdicts == [
        ("POST /api/v1/payments [postgresql, 2 processes]: req/s >= 0.7 x baseline (got 0.80 x)", True),
        ("POST /api/v1/payments [postgresql, 2 processes]: p99 <= 1.5 x baseline (got 1.25 x)", True),
        ("POST /api/v1/payments [postgresql, 2 processes]: no errors (got 0)", True),
        ("GET /api/v1/payments/:id: req/s >= 0.7 x baseline (got 0.33 x)", False),
        ("GET /api/v1/payments/:id: no errors (got 0)", True),
    ]


def test_over_rounds_a_goal_holds_when_it_held_in_most_rounds():
    def post(rate: float, p99_ms: float) -> list[Verdict]:
        baseline = Result("baseline", 10000.0, 2.5, 10.0)
        return check_goals([baseline, Result("POST /api/v1/payments", rate, 5.0, p99_ms, vs="baseline")])

    summary = over_rounds([post(7100.0, 16.0), post(6900.0, 14.0), post(7000.0, 15.0)])
    assert [(v.claim, v.got, v.met) for v in summary] == [
        ("POST /api/v1/payments: req/s >= 0.7 x baseline", "0.71 x, 0.69 x, 0.70 x; held in 2 of 3 rounds", True),
        ("POST /api/v1/payments: p99 <= 1.5 x baseline", "1.60 x, 1.40 x, 1.50 x; held in 2 of 3 rounds", True),
        ("POST /api/v1/payments: no errors", "0, 0, 0; held in 3 of 3 rounds", True),
    ]
    once = over_rounds([post(7100.0, 14.0), post(6900.0, 16.0), post(6000.0, 16.0)])
    assert [v.met for v in once] == [False, False, True]
    assert [v.met for v in over_rounds([post(7000.0, 15.0), post(6999.0, 15.1)])] == [False, False, True]


_MAIN = "thread (101): MainThread;<module> (komoju-server:8);run (uvicorn/server.py:86)"
_POST = "on_post (/x/site-packages/komoju_server/api/payments.py:40)"
_WRITER = "thread (102): sqlite-writer;_write_loop (/x/komoju_server/store/sqlite.py:95)"
COLLAPSED = "\n".join(
    [
        f"{_MAIN};{_POST};new_id (/x/site-packages/komoju_server/domain/ids.py:14) 6",
        f"{_MAIN};{_POST} 2",
        f"{_WRITER};_commit_batch (/x/komoju_server/store/sqlite.py:120) 4",
    ]
)


def test_profile_summary_splits_threads_and_counts_self_and_inclusive():
    threads = profile.summarise(COLLAPSED)
    assert [(t.tid, t.name, t.samples) for t in threads] == [(101, "MainThread", 8), (102, "sqlite-writer", 4)]
    main = threads[0]
    assert main.self_samples == [("domain/ids.py:new_id", 6), ("api/payments.py:on_post", 2)]
    assert dict(main.inclusive)["api/payments.py:on_post"] == 8
    text = profile.render(threads, {101: 6.0, 102: 2.0}, 10, 40000)
    assert "MainThread: 6.00 s (60%), 150 us per request" in text
    assert "sqlite-writer: 2.00 s (20%), 50 us per request" in text
    assert "idle or waiting: 2.00 s (20%)" in text
    assert "   75.0%  domain/ids.py:new_id" in text


def test_only_picks_an_exact_name_or_else_every_name_containing_the_text():
    from bench.__main__ import selected

    scenarios = [
        Endpoint("GET /api/v1/payments", "GET", "/a"),
        Endpoint("GET /api/v1/payments/:id", "GET", "/b"),
        Endpoint("POST /api/v1/payments", "POST", "/c"),
    ]
    assert [s.name for s in selected(scenarios, ["GET /api/v1/payments"])] == ["GET /api/v1/payments"]
    assert [s.name for s in selected(scenarios, ["GET"])] == ["GET /api/v1/payments", "GET /api/v1/payments/:id"]
    assert selected(scenarios, []) == scenarios


def test_each_line_names_its_own_baseline_of_the_same_run():
    from bench.scenarios import BASELINES, ENDPOINTS, compared
    from bench.webhooks import WEBHOOK_SCENARIOS

    by_name = {s.name: s for s in [*ENDPOINTS, *WEBHOOK_SCENARIOS]}
    measured = Result("x", 1.0)
    suffix = " [postgresql, 2 processes]"
    show = compared(by_name["GET /api/v1/payments/:id"], measured, suffix)
    assert (show.name, show.vs) == ("x" + suffix, BASELINES["show"].name + suffix)
    assert compared(by_name["GET /api/v1/payments"], measured).vs == BASELINES["list"].name
    assert compared(by_name["POST /api/v1/tokens"], measured).vs == BASELINES["write"].name
    assert compared(by_name["GET /health"], measured).vs is None
    assert compared(by_name["POST /api/v1/payments, paced, no webhook"], measured).vs is None
    assert compared(by_name["POST /api/v1/payments"], measured, baselines=False).vs is None


def test_the_baselines_workers_are_stopped_even_when_one_ignores_sigterm():
    """bench/baseline.py --workers N forks workers; one whose shutdown hangs must not outlive it."""
    import os
    import signal
    import time

    from bench.baseline import _stop

    children = []
    for stubborn in (False, True):
        ready, told = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker: ready once its signal handling is set
            if stubborn:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.write(told, b"x")
            time.sleep(60)
            os._exit(0)
        assert os.read(ready, 1) == b"x"
        os.close(ready)
        os.close(told)
        children.append(pid)
    started = time.monotonic()
    _stop(children, grace=0.5)
    assert 0.5 <= time.monotonic() - started < 5
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no such child any more


def test_a_stopped_server_leaves_none_of_its_processes_behind(tmp_path):
    """A server whose shutdown hangs is killed, and a process it forked with it: an orphaned
    baseline worker once kept loading the cores through every later measurement."""
    import sys
    import time
    from pathlib import Path

    from bench.processes import Server

    script = tmp_path / "stubborn.py"
    script.write_text(
        """
import http.server, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a shutdown that never ends, in both processes
child = os.fork()
if child == 0:
    time.sleep(600)
    os._exit(0)
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Health)
print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
print(f"child {child}", flush=True)
server.serve_forever()
"""
    )
    server = Server.start("stubborn", [sys.executable, str(script)], cpu=None)
    deadline = time.monotonic() + 10
    while not any(line.startswith("child ") for line in server.output) and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(next(line for line in server.output if line.startswith("child ")).split()[1])
    server.stop(timeout=0.5)

    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return False
        return state != "Z"  # a zombie has exited; only its parent's reaping is left

    deadline = time.monotonic() + 5
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(child)
    assert not running(server.pid)


def test_a_paired_line_is_held_to_its_baseline_measured_just_before_it():
    """--paired: the line's own baseline is measured first, on the baseline server, and the line
    is compared to that measurement; a line without a baseline is measured alone."""
    import os
    from types import SimpleNamespace

    from bench.__main__ import _line
    from bench.results import Result, check_goals
    from bench.scenarios import BASELINES

    order: list[str] = []

    class Line:
        def __init__(self, name: str, rate: float, baseline: str | None = "write") -> None:
            self.name, self.rate, self.baseline = name, rate, baseline

        def measure(self, ctx: object) -> Result:
            order.append(self.name)
            return Result(self.name, self.rate, 1.0, 2.0)

    here = SimpleNamespace(server=SimpleNamespace(pid=os.getpid()), companions=())
    original = BASELINES["write"]
    BASELINES["write"] = Line(original.name, 1000.0)  # type: ignore[assignment]
    try:
        results = _line(Line("POST /api/v1/payments", 700.0), here, here, "", True)  # type: ignore[arg-type]
        alone = _line(Line("GET /health", 5000.0, baseline=None), here, here, "", True)  # type: ignore[arg-type]
    finally:
        BASELINES["write"] = original
    assert order == [original.name, "POST /api/v1/payments", "GET /health"]
    before, line = results
    assert before.name == f"{original.name}, before POST /api/v1/payments" and before.vs is None
    assert (line.name, line.vs) == ("POST /api/v1/payments", before.name)
    assert [v.met for v in check_goals(results) if "req/s" in v.text] == [True]  # exactly 0.7 x
    assert [(r.name, r.vs) for r in alone] == [("GET /health", None)]


def test_a_live_receiver_line_keeps_its_profile_and_counts_the_deliveries(monkeypatch: pytest.MonkeyPatch):
    from bench import webhooks

    class Receiver:
        url = "http://127.0.0.1:1"

        def stop(self) -> None:
            pass

    measured = Result("POST /api/v1/payments, webhook receiver up", 2500.0, 5.0, 20.0, note="profiled", profile="P")
    monkeypatch.setattr(webhooks, "_start_receiver", lambda ctx: Receiver())
    monkeypatch.setattr(webhooks, "_only_webhook", lambda ctx, url: {})
    monkeypatch.setattr(webhooks, "_receiver_call", lambda receiver, path: {"answered": 3414})
    monkeypatch.setattr(Endpoint, "measure", lambda self, ctx: measured)
    result = webhooks.Payments("webhook receiver up", paced=False, live=True).measure(None)  # type: ignore[arg-type]
    assert (result.rate, result.p99_ms, result.profile) == (2500.0, 20.0, "P")
    assert result.note == "profiled, 3,414 deliveries answered meanwhile"
