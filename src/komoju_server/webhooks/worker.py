"""The delivery worker: sends the outbox, in the background of every server process.

It claims due deliveries (a lease: `next_attempt_at` moves to the lease's end under a claim
token), POSTs each event as KOMOJU does, and records the outcome of every attempt:

    POST <url>
    Content-Type: application/json
    User-Agent: Komoju-Webhook
    X-Komoju-ID: <the delivery's id, the same on every retry of it>
    X-Komoju-Event: <the event type>
    X-Komoju-Signature: <lowercase hex HMAC-SHA256 of the body, keyed with the secret token>

    <the event exactly as stored: {"id", "type", "resource": "event", "data", "created_at", "reason"}>

Any 2xx answer is success; anything else (another status, a refused connection, no answer
within the timeout) is a failed attempt, retried on the schedule (`schedule.py`) and given up
after its last wait. Redirects are not followed. Every attempt is recorded with the signature
it sent and the first `KEPT_ANSWER_BYTES` of the receiver's answer as text (the dashboard
shows them).

Never slowing the API: deliveries run as tasks on the server's event loop, at most
`concurrency` at once (and at most that many claimed), each cut off after `timeout` seconds
in all, so a slow or dead receiver holds a few sockets and nothing else. Every database
write is one small unit of work through the store like any other.

Waking: `poke()` makes the worker look at once. The store calls it once a unit that wrote
deliveries in this process has committed (`store.webhooks.DELIVERIES`), and only if the unit
wrote some: an event no endpoint wants wakes nothing. The worker otherwise looks when the
earliest pending delivery is due, and at least every `poll_interval`, for deliveries written
by other processes.

Surviving crashes: an attempt is opened (`sending`) in the same unit as the claim. A process
that dies mid-attempt leaves the claim; the delivery becomes due again when the lease runs
out (on SQLite, the database's only process releases such claims when it starts), and the
next claim marks the dead attempt `interrupted`. So a delivery is never lost, may be sent
more than once (receivers dedupe on the event id), and every attempt is on record. On
PostgreSQL, claims take `FOR UPDATE SKIP LOCKED`, so processes never claim one delivery twice.

Telling: every attempt, sent or not, is reported to `report` (the console prints one line per
attempt) as an `Attempt`: the event, the URL, the answer's status or the error's kind, the
duration and what comes next.

Revealing no more than the receiver's answer: what the merchant sees of an attempt (the
deliveries list, the dashboard, the console) is "answered HTTP N" or "could not connect",
nothing in between. A refused connection, a reset, a timeout after connecting and a TLS
failure all read the same, so webhooks cannot be used to tell an open port from a closed one
on the server's network. The one other kind is `refused_by_policy` (see `policy.py` and
`connect.py`): decided on the address alone, before any connection.

Surviving a database outage (`StoreUnavailable`): the loop logs nothing of its own (the store
logs the outage once), looks again after 1, 2, 4 seconds, then every `OUTAGE_MAX_PAUSE`, and
goes on once the database is back. An attempt whose outcome cannot be recorded is sent again
when its lease runs out, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from komoju_server.config import Settings
from komoju_server.domain import clock, ids, rules, webhook
from komoju_server.store import Store, StoreUnavailable, Write
from komoju_server.store import webhooks as table
from komoju_server.store.vault import LazyVault, VaultError
from komoju_server.webhooks import connect, policy, schedule, signing
from komoju_server.webhooks.breaker import Breakers, origin

log = logging.getLogger("komoju_server")

USER_AGENT = "Komoju-Webhook"
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 16
POLL_INTERVAL = 1.0
LEASE_MARGIN = 5.0  # a lease outlives the longest attempt by this much (the time to record it)
CONTENDED_PAUSE = 0.02  # due deliveries another process is claiming: look again shortly
STOP_GRACE = 1.0  # at shutdown, attempts under way get this long before they are cut off
MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's answer, read (and dropped) to keep the connection
KEPT_ANSWER_BYTES = 2048  # of a receiver's answer, kept with the attempt for the dashboard
MAX_ERROR = 300
# What an attempt's record says, whatever went wrong before an answer: nothing more (see above).
COULD_NOT_CONNECT = "could not connect"
OUTAGE_MAX_PAUSE = 5.0  # seconds between looks while the database cannot be reached


@dataclass(frozen=True)
class Options:
    schedule: schedule.Schedule = schedule.DEFAULT
    timeout: float = DEFAULT_TIMEOUT  # seconds an attempt may take in all
    concurrency: int = DEFAULT_CONCURRENCY  # attempts under way at once, per process
    poll_interval: float = POLL_INTERVAL
    secret: str | None = None  # signs deliveries to --webhook-url and per-payment URLs
    allow_private: bool = True  # the outbound policy: may deliveries go to private addresses?
    resolver: connect.Resolver = connect.system_resolver  # tests give a stub: no real DNS

    @property
    def lease_ms(self) -> int:
        return int((self.timeout + LEASE_MARGIN) * 1000)


def options_from(settings: Settings) -> Options:
    """The worker's options from the server's settings; ValueError says what is wrong."""
    jitter = schedule.DEFAULT_JITTER if settings.webhook_retry_jitter is None else settings.webhook_retry_jitter
    if settings.webhook_retry_schedule:
        plan = schedule.Schedule.parse(settings.webhook_retry_schedule, jitter)
    else:
        plan = schedule.Schedule(schedule.DEFAULT.delays, jitter)
    if not 0 < settings.webhook_timeout <= 300:
        raise ValueError("--webhook-timeout must be more than 0 and at most 300 seconds")
    if not 1 <= settings.webhook_concurrency <= 1000:
        raise ValueError("--webhook-concurrency must be from 1 to 1000")
    if settings.webhook_url and not rules.is_url(settings.webhook_url):
        raise ValueError("--webhook-url must be an http:// or https:// URL")
    allow_private = settings.allows_private_webhooks
    if settings.webhook_url:
        refused = policy.literal_refusal(settings.webhook_url, allow_private)
        if refused is not None:
            raise ValueError(
                f"--webhook-url is a {refused.replace('_', '-')} address, which the outbound policy refuses "
                "(--webhook-allow-private allows loopback and private ones)"
            )
    return Options(
        plan,
        settings.webhook_timeout,
        settings.webhook_concurrency,
        secret=settings.webhook_secret,
        allow_private=allow_private,
    )


Outcome = Literal["succeeded", "retrying", "gave_up"]


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt as it ended, for the console."""

    delivery_id: str
    event_id: str
    event_type: str
    url: str  # as the delivery has it: the console strips user name, password and query
    number: int  # 1 for the first attempt
    status: int | None  # the receiver's HTTP status; None when it did not answer (or was not asked)
    error: str | None  # the kind of failure (ERROR_KINDS); None on success
    duration_ms: int
    outcome: Outcome
    next_attempt_at: int | None  # epoch ms of the next try; None once delivered or given up


# The kinds of failure an attempt is reported with (to the console), and no others.
NO_ANSWER = "could_not_connect"  # refused, reset, timed out, TLS, a malformed answer: all alike
REFUSED_BY_POLICY = "refused_by_policy"  # the outbound policy refused the address: nothing sent
HTTP_ERROR = "http_error"  # answered, but not 2xx
NOT_SENT_DOWN = "receiver_down"  # the breaker held it: the receiver could not be reached just before
NOT_SENT_SECRET = "secret_unreadable"
ERROR_KINDS = (NO_ANSWER, REFUSED_BY_POLICY, HTTP_ERROR, NOT_SENT_DOWN, NOT_SENT_SECRET)


def error_kind(exc: BaseException) -> str:
    return REFUSED_BY_POLICY if connect.refusal(exc) is not None else NO_ANSWER


def _no_report(attempt: Attempt) -> None:
    pass


@dataclass
class _Flight:
    claimed: table.Claimed
    token: str
    recorded: bool = field(default=False)
    signature: str | None = None  # the X-Komoju-Signature sent
    answer: bytes = b""  # the start of the receiver's answer, as it came
    encoded: str | None = None  # the answer's Content-Encoding, when it is not plain
    answer_size: int = 0  # bytes of the answer read


class Worker:
    def __init__(
        self,
        store: Store,
        vault: LazyVault,
        options: Options,
        now_ms: Callable[[], int] = clock.now_ms,
        rand: Callable[[], float] = random.random,
        report: Callable[[Attempt], None] = _no_report,
    ) -> None:
        self._store = store
        self._report = report
        self._vault = vault
        self._options = options
        self._now_ms = now_ms
        self._rand = rand
        # One single-connection client per attempt under way, not one client with a pool:
        # httpcore checks every pooled connection on every request, so a pool of N costs O(N)
        # per delivery; N clients of one connection each cost O(1) and keep their keep-alive.
        self._clients: list[httpx.AsyncClient] = []
        self._idle_clients: list[httpx.AsyncClient] = []
        self._tls: ssl.SSLContext | None = None  # loading the CA bundle takes milliseconds: once
        self._breakers = Breakers()
        self._loop_task: asyncio.Task[None] | None = None
        self._flights: dict[asyncio.Task[None], _Flight] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per delivery
        if self._store.kind == "sqlite":
            await self._store.run([table.release_all_claims(self._now_ms())])
        self._stopping = False
        self._loop_task = asyncio.create_task(self._loop(), name="webhook-worker")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            try:
                await asyncio.wait_for(self._loop_task, STOP_GRACE)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._loop_task = None
        if self._flights:
            await asyncio.wait(list(self._flights), timeout=STOP_GRACE)
        cut = [(task, flight) for task, flight in list(self._flights.items()) if not task.done()]
        for task, _ in cut:
            task.cancel()
        for task, _ in cut:
            with contextlib.suppress(BaseException):
                await task
        unit: list[Write] = []
        for _, flight in cut:
            if not flight.recorded:
                unit += table.release(flight.claimed.id, flight.token, flight.claimed.attempt, self._now_ms())
        if unit:
            try:
                await self._store.run(unit)
            except Exception as exc:  # the lease runs out instead
                log.warning("webhook worker: releasing deliveries at shutdown failed: %s", type(exc).__name__)
        for client in self._clients:
            await client.aclose()
        self._clients, self._idle_clients = [], []

    def resolve_with(self, resolver: connect.Resolver) -> None:
        """Resolves receivers' names with this from now on (tests: a stub, so no real DNS)."""
        self._options = dataclasses.replace(self._options, resolver=resolver)
        self._idle_clients = []  # clients made from now on resolve with it

    def poke(self) -> None:
        """Deliveries were written in this process and committed: look for them now."""
        self._wake.set()

    # -- claiming -----------------------------------------------------------------------------

    async def _loop(self) -> None:
        outage_pause = self._options.poll_interval
        while not self._stopping:
            try:
                await self._round()
                outage_pause = self._options.poll_interval
            except StoreUnavailable:  # logged by the store, once per outage
                await self._sleep(outage_pause)
                outage_pause = min(OUTAGE_MAX_PAUSE, outage_pause * 2)
            except Exception as exc:  # a bug, or an error of the database's own: keep going
                log.warning("webhook worker: %s: %s", type(exc).__name__, str(exc)[:MAX_ERROR])
                await self._sleep(self._options.poll_interval)

    async def _round(self) -> None:
        free = self._options.concurrency - len(self._flights)
        if free <= 0:
            await self._sleep(None)  # until an attempt finishes
            return
        now = self._now_ms()
        due = await table.next_due(self._store)
        if due is not None and due <= now:
            token = ids.new_id()
            await self._store.run(table.claim(self._store.kind, token, now, now + self._options.lease_ms, free))
            claimed = await table.claimed(self._store, token)
            settled: list[Write] = []  # what is decided without sending, in one unit
            for item in claimed:
                if item.body is None or item.endpoint_deleted:
                    settled += table.cancel_unsent(item.id, token, item.attempt)
                    continue
                refusal = self._breakers.refusal(origin(item.url))
                if refusal is not None:
                    settled += self._outcome(item, token, None, refusal, NOT_SENT_DOWN, 0)
                    continue
                self._launch(item, token)
            if settled:
                await self._store.run(settled)
            if not claimed:
                await self._sleep(CONTENDED_PAUSE)
            return
        timeout = self._options.poll_interval
        if due is not None:
            timeout = min(timeout, (due - now) / 1000)
        await self._sleep(timeout)

    async def _sleep(self, seconds: float | None) -> None:
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _launch(self, claimed: table.Claimed, token: str) -> None:
        flight = _Flight(claimed, token)
        task = asyncio.create_task(self._deliver(flight), name=f"webhook-delivery-{claimed.id}")
        self._flights[task] = flight
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._flights.pop(task, None)
        error = None if task.cancelled() else task.exception()
        # An outcome lost to a database outage (logged by the store) is sent again after its lease.
        if error is not None and not isinstance(error, StoreUnavailable):
            log.warning("webhook worker: a delivery failed to record: %s", type(error).__name__)
        self._wake.set()

    # -- sending ------------------------------------------------------------------------------

    async def _deliver(self, flight: _Flight) -> None:
        item, token = flight.claimed, flight.token
        target = origin(item.url)
        started = time.monotonic()
        code, error, kind, reached = await self._post(item, flight)
        duration_ms = int((time.monotonic() - started) * 1000)
        if reached:
            self._breakers.answered(target)
        elif reached is False:
            self._breakers.unreachable(target, str(error))
        sent = (flight.signature, _answer_text(flight) if reached else None)
        await self._store.run(self._outcome(item, token, code, error, kind, duration_ms, sent))
        flight.recorded = True

    def _outcome(
        self,
        item: table.Claimed,
        token: str,
        code: int | None,
        error: str | None,
        kind: str | None,
        duration_ms: int,
        sent: tuple[str | None, str | None] = (None, None),
    ) -> list[Write]:
        """The attempt's record and what becomes of the delivery: done, retried later, or given up.
        `sent` is the attempt's signature header and the start of the receiver's answer (none for
        an attempt not sent). The attempt is reported as it is decided."""
        if code is not None and 200 <= code < 300:
            self._tell(item, code, None, duration_ms, "succeeded", None)
            return [
                table.record_attempt(item.id, item.attempt, webhook.SUCCEEDED, code, None, duration_ms, *sent),
                table.succeed(item.id, token),
            ]
        unit = [table.record_attempt(item.id, item.attempt, webhook.FAILED, code, error, duration_ms, *sent)]
        delay = self._options.schedule.next_delay(item.attempt, self._rand)
        if delay is None:
            unit.append(table.give_up(item.id, token))
            self._tell(item, code, kind, duration_ms, "gave_up", None)
        else:
            next_at = self._now_ms() + int(delay * 1000)
            unit.append(table.retry_at(item.id, token, next_at))
            self._tell(item, code, kind, duration_ms, "retrying", next_at)
        return unit

    def _tell(
        self,
        item: table.Claimed,
        code: int | None,
        kind: str | None,
        duration_ms: int,
        outcome: Outcome,
        next_at: int | None,
    ) -> None:
        attempt = Attempt(
            item.id, item.event_id, item.event_type, item.url, item.attempt, code, kind, duration_ms, outcome, next_at
        )
        try:
            self._report(attempt)
        except Exception as exc:  # the console must never stop deliveries
            log.warning("webhook worker: reporting an attempt failed: %s", type(exc).__name__)

    async def _post(
        self, item: table.Claimed, flight: _Flight
    ) -> tuple[int | None, str | None, str | None, bool | None]:
        """(status code, error, its kind, whether the receiver answered: None when nothing was
        sent); the signature sent and the start of the answer go on `flight`."""
        assert item.body is not None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Komoju-ID": item.id,
            "X-Komoju-Event": item.event_type,
        }
        try:
            secret = self._secret(item)
        except VaultError:
            return (
                None,
                "not sent: the webhook's secret token does not open with this server's vault key",
                NOT_SENT_SECRET,
                None,
            )
        if secret is not None:
            headers[signing.HEADER] = flight.signature = signing.sign(secret, item.body)
        client = self._idle_clients.pop() if self._idle_clients else self._new_client()
        try:
            async with asyncio.timeout(self._options.timeout):
                async with client.stream("POST", item.url, content=item.body, headers=headers) as answer:
                    encoding = answer.headers.get("Content-Encoding", "identity").strip().lower()
                    flight.encoded = None if encoding in ("", "identity") else encoding
                    read = 0
                    async for chunk in answer.aiter_raw():
                        if read < KEPT_ANSWER_BYTES:
                            flight.answer += chunk[: KEPT_ANSWER_BYTES - read]
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break
                    flight.answer_size = read
                    code = answer.status_code
        except Exception as exc:  # refused, reset, timed out, a malformed answer, the policy...
            # The exception's text may tell an open port from a closed one: it is not kept.
            return None, COULD_NOT_CONNECT, error_kind(exc), False
        finally:
            self._idle_clients.append(client)
        if 200 <= code < 300:
            return code, None, None, True
        return code, f"answered HTTP {code}", HTTP_ERROR, True

    def _new_client(self) -> httpx.AsyncClient:
        if self._tls is None:
            self._tls = httpx.create_ssl_context(trust_env=False)
        # trust_env=False: deliveries go straight to the receiver, whatever proxy the shell names.
        # The transport connects only to addresses the outbound policy allows (connect.py).
        backend = connect.PolicyBackend(self._options.allow_private, self._options.resolver)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        client = StatelessClient(
            transport=connect.PolicyTransport(backend, self._tls, limits),
            timeout=self._options.timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self._clients.append(client)
        return client

    def _secret(self, item: table.Claimed) -> str | None:
        if item.sealed_secret is not None and item.endpoint_id is not None:
            return str(self._vault.open(item.sealed_secret, table.SECRET_TABLE, item.endpoint_id)["secret_token"])
        return self._options.secret


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: reading a response's Set-Cookie is skipped too (httpx
    builds urllib request and response copies for it, about a tenth of a delivery's work)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class StatelessClient(httpx.AsyncClient):
    """A client that keeps no cookies: a receiver's Set-Cookie never comes back on a later
    delivery, which would otherwise depend on which of the worker's clients sends it."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("a webhook delivery client keeps no cookies")


_NO_COOKIES = _NoCookies()


def _answer_text(flight: _Flight) -> str:
    """The start of the receiver's answer as text (a compressed answer is only described)."""
    if flight.encoded is not None:
        return f"({flight.answer_size} bytes, {flight.encoded}-encoded: not shown)"
    text = flight.answer.decode("utf-8", errors="replace")
    return text + "\u2026" if flight.answer_size > KEPT_ANSWER_BYTES else text
