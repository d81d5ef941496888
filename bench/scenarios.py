"""What the harness measures. To add an HTTP endpoint, add one `Endpoint` to `ENDPOINTS`.

A scenario is anything with a `name`, `server_args` (extra `komoju-server serve` flags;
scenarios with the same flags share one server, each distinct set gets a fresh server on a
fresh database; it may be a property, read once before that server starts) and
`measure(ctx) -> Result`, and optionally `close()`, called after its server stopped.
`Endpoint` is the wrk-driven kind. A scenario that counts something other than HTTP
requests (webhook events delivered per second to a local receiver) implements the same
members and returns a `Result` with its own `unit`; see README.md, "Adding a scenario".
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from bench import profile, wrk
from bench.processes import Server, basic_auth, request
from bench.results import Result

SECRET_KEY = "sk_test_bench"
PUBLISHABLE_KEY = "pk_test_bench"
FORM = "application/x-www-form-urlencoded"

# A captured test-card payment: 4111... is the sandbox's always-succeeding Visa.
PAYMENT_FORM = urlencode(
    {
        "amount": "1000",
        "currency": "JPY",
        "payment_details[type]": "credit_card",
        "payment_details[number]": "4111111111111111",
        "payment_details[month]": "1",
        "payment_details[year]": "2030",
    }
)


@dataclass(frozen=True)
class RunSettings:
    seconds: float
    warmup_seconds: float
    connections: int
    threads: int
    client_cpu: int | None
    workdir: Path
    profile: frozenset[str] = frozenset()  # names of scenarios to sample with py-spy
    profile_native: bool = False  # py-spy --native --idle: C frames too, much slower


@dataclass
class Context:
    """What a scenario gets: the running server, its key, and values the seed left (payment_id)."""

    server: Server
    settings: RunSettings
    secret_key: str = SECRET_KEY
    companions: tuple[int, ...] = ()  # processes working for the server (PostgreSQL's), not "others"
    values: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.server.url + path.format(**self.values)


class Scenario(Protocol):
    name: str
    server_args: tuple[str, ...]

    def measure(self, ctx: Context) -> Result: ...


@dataclass(frozen=True)
class Endpoint:
    """One HTTP request, sent over and over by wrk for a fixed time.

    `path` may name values of the context (`/api/v1/payments/{payment_id}`). `lua` is extra
    wrk Lua run after the generated request setup (a `request()` function that varies the
    request, for instance); the harness always appends its own `done()` hook.
    """

    name: str
    method: str
    path: str
    body: str | None = None
    content_type: str = FORM
    auth: bool = True
    expect: int = 200
    lua: str = ""
    server_args: tuple[str, ...] = ()
    baseline: str | None = "write"  # the BASELINES entry this line is compared to

    def headers(self, ctx: Context) -> dict[str, str]:
        headers = {"Authorization": basic_auth(ctx.secret_key)} if self.auth else {}
        if self.body is not None:
            headers["Content-Type"] = self.content_type
        return headers

    def measure(self, ctx: Context) -> Result:
        url = ctx.url(self.path)
        headers = self.headers(ctx)
        status, answer = request(url, self.method, self.body, headers)
        if status != self.expect:
            raise RuntimeError(f"{self.name}: expected {self.expect}, got {status}: {answer[:500]!r}")
        script = ctx.settings.workdir / (slug(self.name) + ".lua")
        script.write_text(wrk.render_script(self.method, headers, self.body, self.lua))
        s = ctx.settings
        if s.warmup_seconds > 0:
            wrk.run(url, script, s.warmup_seconds, s.connections, s.threads, s.client_cpu)
        if self.name not in s.profile:
            run = wrk.run(url, script, s.seconds, s.connections, s.threads, s.client_cpu)
            return Result.from_wrk(self.name, run)
        output = s.workdir / (slug(self.name) + ".pyspy")
        sampling = profile.Sampling(ctx.server.pid, s.seconds, output, s.client_cpu, s.profile_native)
        run = wrk.run(url, script, s.seconds, s.connections, s.threads, s.client_cpu)
        return Result.from_wrk(self.name, run, note="profiled", profile=sampling.finish(run.requests))


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# The bare ceilings (bench/baseline.py), with the same Basic auth: the same form POST and one
# durable insert; one payment's stored document by id; the newest page of documents and the
# total. The reads run against the payments the harness seeded on the baseline first. "work"
# is no ceiling but a yardstick: the same POST writing what a payment writes (its row and its
# event's, under the server's indexes), which tells SQLite's part of a payment from Python's.
BASELINES: dict[str, Endpoint] = {
    "write": Endpoint("baseline: raw ASGI, form + auth + durable insert", "POST", "/payments", body=PAYMENT_FORM),
    "work": Endpoint(
        "baseline: raw ASGI, form + auth + a payment's durable writes (its row and its event's)",
        "POST",
        "/payments/with-event",
        body=PAYMENT_FORM,
    ),
    "show": Endpoint("baseline: raw ASGI, auth + read one document", "GET", "/payments/{payment_id}"),
    "list": Endpoint("baseline: raw ASGI, auth + read a page of 10 documents and the total", "GET", "/payments"),
}

# wrk Lua for a payment followed by its refund on the same wrk thread: each answered payment's
# id is queued, and the next request refunds the oldest queued one in full (a refund answers
# the payment with amount_refunded 1000, which is not queued again).
PAY_THEN_REFUND = """
local refundable = {}
request = function()
  local id = table.remove(refundable, 1)
  if id then
    return wrk.format("POST", "/api/v1/payments/" .. id .. "/refund", nil, "amount=1000")
  end
  return wrk.format("POST", "/api/v1/payments")  -- wrk.body: the payment form
end
response = function(status, headers, body)
  if status == 200 and string.find(body, '"amount_refunded":0', 1, true) then
    table.insert(refundable, string.match(body, '"id":"(%w+)"'))
  end
end
"""

TOKEN_FORM = urlencode(
    {
        "payment_details[type]": "credit_card",
        "payment_details[number]": "4111111111111111",
        "payment_details[month]": "1",
        "payment_details[year]": "2030",
        "payment_details[verification_value]": "123",
    }
)

# Measured in this order against one server (per distinct server_args). The writes run last so
# that the reads before them see the same small, seeded database every time.
ENDPOINTS: list[Scenario] = [
    Endpoint("GET /health", "GET", "/health", auth=False, baseline=None),
    Endpoint("GET /api/v1/payments", "GET", "/api/v1/payments", baseline="list"),
    Endpoint("GET /api/v1/payments/:id", "GET", "/api/v1/payments/{payment_id}", baseline="show"),
    Endpoint("POST /api/v1/payments", "POST", "/api/v1/payments", body=PAYMENT_FORM),
    # No goal: the same POST next to the baseline that writes what a payment writes.
    Endpoint(
        "POST /api/v1/payments, next to a payment's durable writes",
        "POST",
        "/api/v1/payments",
        body=PAYMENT_FORM,
        baseline="work",
    ),
    Endpoint(
        "POST /api/v1/payments, then POST /api/v1/payments/:id/refund",
        "POST",
        "/api/v1/payments",
        body=PAYMENT_FORM,
        lua=PAY_THEN_REFUND,
    ),
    Endpoint("POST /api/v1/tokens", "POST", "/api/v1/tokens", body=TOKEN_FORM),
    Endpoint("POST /api/v1/sessions", "POST", "/api/v1/sessions", body="amount=1000&currency=JPY"),
]


def compared(scenario: Scenario, result: Result, suffix: str = "", baselines: bool = True) -> Result:
    """`result` named with `suffix` (the run's database and processes), and naming the baseline
    line of the same run it is held to: its scenario's `baseline` ("write" unless it says)."""
    kind = getattr(scenario, "baseline", "write")
    vs = BASELINES[kind].name + suffix if kind is not None and baselines else None
    return dataclasses.replace(result, name=result.name + suffix, vs=vs)


def seed(ctx: Context, payments: int, path: str = "/api/v1/payments") -> None:
    """Payments made before any measurement: the list has full pages, the show has an id."""
    url = ctx.url(path)
    headers = {"Authorization": basic_auth(ctx.secret_key), "Content-Type": FORM}
    for _ in range(max(1, payments)):
        status, answer = request(url, "POST", PAYMENT_FORM, headers)
        if status != 200:
            raise RuntimeError(f"seeding a payment failed: {status} {answer[:500]!r}")
    ctx.values["payment_id"] = json.loads(answer)["id"]
