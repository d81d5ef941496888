"""Rate limits, quotas and failed-authentication limits (services/throttle.py): the buckets with a
clock of the test's own, then servers of the tests' own with small limits, in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from komoju_server.config import Settings
from komoju_server.domain.caller import Caller
from komoju_server.services.throttle import Buckets, Limits, Rate, Throttle, Throttled, client_key, limits_from
from tests.pages.dashboard_support import Browserless
from tests.webhooks.harness import fresh_database, own_app

TOO_MANY = {
    "error": {"code": "too_many_requests", "message": "Too many requests. Please try again later.", "param": None}
}
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "User authorization failed.", "param": None}}
ALICE = Caller("m_alice", "test", "secret")
BOB = Caller("m_bob", "test", "secret")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("50/s", Rate(50, 1.0)),
        ("3000/m", Rate(3000, 60.0)),
        (" 10 / h ", Rate(10, 3600.0)),
        ("100000/d", Rate(100000, 86400.0)),
        ("none", None),
        ("off", None),
        ("0", None),
    ],
)
def test_rates_are_read_from_n_per_unit(text, rate):
    assert Rate.parse(text, "--rate-limit") == rate


@pytest.mark.parametrize("text", ["50", "50/w", "-1/s", "0/s", "1.5/s", "fast", "50/s/m"])
def test_a_bad_rate_says_what_is_wrong(text):
    with pytest.raises(ValueError) as bad:
        Rate.parse(text, "--rate-limit")
    assert str(bad.value) == f"--rate-limit must look like 50/s, 3000/m, 100000/h or 1000000/d (or none), not {text!r}"


def test_limits_from_settings_are_off_by_default_but_failed_authentications():
    assert limits_from(Settings()) == Limits(None, None, None, Rate(600, 60.0))
    settings = Settings(rate_limit="20/s", rate_limit_burst=40, quota="1000/h", auth_failure_limit="none")
    assert limits_from(settings) == Limits(Rate(20, 1.0), 40, Rate(1000, 3600.0), None)
    with pytest.raises(ValueError, match="--rate-limit-burst must be at least 1"):
        limits_from(Settings(rate_limit="1/s", rate_limit_burst=0))
    with pytest.raises(ValueError, match="--quota must look like"):
        limits_from(Settings(quota="lots"))


def test_limits_from_the_environment():
    env = {
        "KOMOJU_RATE_LIMIT": "5/s",
        "KOMOJU_RATE_LIMIT_BURST": "9",
        "KOMOJU_QUOTA": "7/d",
        "KOMOJU_AUTH_FAILURE_LIMIT": "none",
    }
    settings = Settings.from_env(env)
    assert limits_from(settings) == Limits(Rate(5, 1.0), 9, Rate(7, 86400.0), None)
    assert {k: v for k, v in settings.to_env().items() if k in env} == env


def test_a_bucket_gives_its_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets = Buckets(capacity=3, refill=2.0, monotonic=clock)
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == 0.5  # a token in half a second at 2 per second
    assert buckets.take("other") == 0.0  # one bucket per key
    clock.now += 0.25
    assert buckets.wait("k") == 0.25
    clock.now += 0.25
    assert buckets.wait("k") == 0.0
    assert (buckets.take("k"), buckets.take("k")) == (0.0, 0.5)
    clock.now += 100
    assert [buckets.take("k") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]  # never more than its capacity


def test_the_rate_limit_and_the_quota_answer_429_with_retry_after_in_whole_seconds():
    clock = Clock()
    throttle = Throttle(Limits(rate=Rate(2, 1.0), burst=2, quota=Rate(5, 3600.0)), monotonic=clock)
    throttle.admit(ALICE)
    throttle.admit(ALICE)
    with pytest.raises(Throttled) as limited:
        throttle.admit(ALICE)
    assert (limited.value.status, limited.value.code, limited.value.retry_after) == (429, "too_many_requests", 1)
    assert limited.value.body() == TOO_MANY
    throttle.admit(BOB)  # another key has its own
    clock.now += 1
    throttle.admit(ALICE)
    throttle.admit(ALICE)
    clock.now += 1
    throttle.admit(ALICE)  # the fifth: the hour's quota is used up
    with pytest.raises(Throttled) as quota:
        throttle.admit(ALICE)
    assert quota.value.retry_after == 720 - 2  # a token every 720 s, the first 2 s into it


def test_failed_authentications_are_counted_per_address_and_ipv6_per_64():
    clock = Clock()
    throttle = Throttle(Limits(auth_failures=Rate(2, 60.0)), monotonic=clock)
    throttle.check_address("203.0.113.7")
    throttle.failed("203.0.113.7")
    throttle.failed("203.0.113.7")
    with pytest.raises(Throttled) as limited:
        throttle.check_address("203.0.113.7")
    assert limited.value.retry_after == 30
    throttle.check_address("203.0.113.8")  # another address is not held
    throttle.failed("2001:db8:1:2::1")
    throttle.failed("2001:db8:1:2:ffff::9")
    with pytest.raises(Throttled):
        throttle.check_address("2001:db8:1:2::abcd")  # the same /64
    throttle.check_address("2001:db8:1:3::1")
    clock.now += 30
    throttle.check_address("203.0.113.7")  # a failure's worth refilled


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an address", "not an address"),
    ],
)
def test_client_keys(address, key):
    assert client_key(address) == key


def test_no_limits_means_no_429():
    throttle = Throttle(Throttle.OFF)
    for _ in range(1000):
        throttle.check_address("127.0.0.1")
        throttle.failed("127.0.0.1")
        throttle.admit(ALICE)


# -- servers of their own, in process ----------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_a_key_over_its_rate_limit_gets_429_in_the_envelope_with_retry_after(database):
    # A rate so slow that no token comes back while the test runs: nothing here depends on time.
    with (
        own_app(database, rate_limit="1/d", rate_limit_burst=3) as server,
        server.client(server.secret_key) as api,
        server.client(server.publishable_key) as public,
    ):
        assert [api.get("/payments").status_code for _ in range(3)] == [200, 200, 200]
        limited = api.get("/payments")
        assert (limited.status_code, limited.json()) == (429, TOO_MANY)
        assert 1 <= int(limited.headers["Retry-After"]) <= 86400
        assert limited.headers["Content-Type"].startswith("application/json")
        # Every method counts.
        posted = api.post("/customers", json={"email": "over@example.com"})
        assert (posted.status_code, posted.json()) == (429, TOO_MANY)
        # The publishable key is another key; a fresh merchant's keys are their own.
        assert public.post("/tokens", json={}).status_code != 429
        other = server.new_merchant()
        with server.client(other["test_secret_key"]) as theirs:
            assert theirs.get("/payments").status_code == 200


def test_a_key_over_its_quota_gets_429(database):
    with own_app(database, quota="2/d") as server, server.client(server.secret_key) as api:
        assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 429]
        assert api.get("/customers").json() == TOO_MANY


def test_an_address_that_failed_too_often_gets_429_even_with_a_good_key(database):
    with (
        own_app(database, auth_failure_limit="3/h") as server,
        server.client("sk_test_wrong") as wrong,
        server.client(server.secret_key) as api,
    ):
        assert api.get("/payments").status_code == 200
        for _ in range(3):
            answer = wrong.get("/payments")
            assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)
        held = wrong.get("/payments")
        assert (held.status_code, held.json()) == (429, TOO_MANY)
        assert 1 <= int(held.headers["Retry-After"]) <= 1200
        good = api.get("/payments")
        assert (good.status_code, good.json()) == (429, TOO_MANY)


def test_forwarding_headers_do_not_move_a_client_to_another_address(database):
    """The address counted is the connection's: a client naming itself another in Forwarded,
    X-Forwarded-For or X-Real-IP on every try is still held (they are not trusted, server.py)."""
    with own_app(database, auth_failure_limit="3/h") as server, server.client("sk_test_wrong") as wrong:
        disguises = [
            {"X-Forwarded-For": "198.51.100.1"},
            {"Forwarded": "for=198.51.100.2"},
            {"X-Real-IP": "198.51.100.3"},
            {"X-Forwarded-For": "198.51.100.4, 203.0.113.9"},
        ]
        answers = [wrong.get("/payments", headers=headers) for headers in disguises]
        assert [(a.status_code, a.json()) for a in answers] == [(401, UNAUTHORIZED)] * 3 + [(429, TOO_MANY)]


def test_limits_are_off_by_default_but_failed_authentications(database):
    with own_app(database) as server, server.client(server.secret_key) as api:
        assert {api.get("/customers").status_code for _ in range(200)} == {200}
        with server.client("sk_test_wrong") as wrong:
            assert {wrong.get("/customers").status_code for _ in range(50)} == {401}


def test_wrong_keys_at_the_dashboard_sign_in_count_against_the_address_too(database):
    with own_app(database, auth_failure_limit="2/h") as server:
        page = Browserless(httpx.Client(transport=server.transport, base_url=server.url, follow_redirects=False))
        for _ in range(2):
            assert page.sign_in("sk_test_wrong").status_code == 401
        held = page.sign_in(server.secret_key)
        assert held.status_code == 429
        assert "<code>too_many_requests</code>" in held.text
        assert 1 <= int(held.headers["Retry-After"]) <= 1800
        assert "set-cookie" not in held.headers or "komoju_dashboard" not in held.headers["set-cookie"]
        with server.client(server.secret_key) as api:
            assert (api.get("/payments").status_code, api.get("/payments").json()) == (429, TOO_MANY)


def test_a_bucket_full_again_is_forgotten():
    clock = Clock()
    buckets = Buckets(capacity=2, refill=1.0, monotonic=clock)
    assert not buckets
    buckets.take("k")
    assert buckets and buckets.wait("k") == 0.0
    clock.now += 1
    assert buckets.wait("k") == 0.0
    assert not buckets  # nothing left to check on the next request
