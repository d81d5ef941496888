"""The outbound policy: decisions on addresses (nothing is connected to), the resolving
backend with a stub resolver (no real DNS), and over the network with loopback targets only.

No test here registers a private, link-local or public address on a server that could deliver
to it: registrations of such addresses are made on servers whose policy refuses them, and the
connecting backend is handed a recording fake in place of the network wherever an address
other than 127.0.0.1 is allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import httpcore
import httpx
import pytest

from komoju_server.config import Settings
from komoju_server.webhooks import connect, policy
from komoju_server.webhooks.worker import (
    COULD_NOT_CONNECT,
    NO_ANSWER,
    REFUSED_BY_POLICY,
    Options,
    Worker,
    error_kind,
    options_from,
)
from tests.api.payment_support import card, created
from tests.webhooks.harness import fresh_database, own_app, receiver

SECRET = "policy-test-secret"
NAME = "receiver.test"  # resolved only by the tests' stub resolvers

# (address, category) with private addresses refused.
REFUSED = [
    ("10.0.0.1", "private"),
    ("192.168.1.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("169.254.1.1", "link_local"),
    ("fe80::1", "link_local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "reserved"),  # documentation
    ("2001:db8::1", "reserved"),  # documentation
    ("198.18.0.1", "reserved"),  # benchmarking
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34", "100.63.255.255"]
ALWAYS_REFUSED = {"metadata", "multicast", "unspecified", "reserved"}


@pytest.mark.parametrize(("text", "kind"), REFUSED)
def test_inside_addresses_are_refused_without_allow_private(text, kind):
    decision = policy.decide(ipaddress.ip_address(text), allow_private=False)
    assert (decision.allowed, decision.category) == (False, kind)


@pytest.mark.parametrize(("text", "kind"), REFUSED)
def test_allow_private_allows_loopback_private_link_local_and_shared_but_never_metadata(text, kind):
    decision = policy.decide(ipaddress.ip_address(text), allow_private=True)
    assert (decision.allowed, decision.category) == (kind not in ALWAYS_REFUSED, kind)


@pytest.mark.parametrize("text", PUBLIC)
@pytest.mark.parametrize("allow_private", [False, True])
def test_public_addresses_are_allowed_and_only_decided_on(text, allow_private):
    assert policy.decide(ipaddress.ip_address(text), allow_private) == policy.Decision(True, "global")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # the short forms resolvers take
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("receiver.test", None),
        ("deadbeef.example", None),
        ("", None),
    ],
)
def test_hosts_written_as_addresses_are_read_as_addresses(host, expected):
    address = policy.parse_address(host)
    assert (None if address is None else str(address)) == expected


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("https://[::1]:6379/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://0x7f000001:5432/", "loopback"),
        ("http://localhost:8000/", "loopback"),
        ("http://api.localhost/", "loopback"),
        ("http://LOCALHOST./", "loopback"),
        ("http://user:pw@192.168.1.1:80/x?y=1", "private"),
        ("http://receiver.test/hook", None),  # a name: checked at every delivery, after resolving
        ("https://93.184.216.34/hook", None),
    ],
)
def test_literal_refusal_reads_the_url_host(url, refused):
    assert policy.literal_refusal(url, allow_private=False) == refused
    allowed_with_private = refused if refused == "metadata" else None
    assert policy.literal_refusal(url, allow_private=True) == allowed_with_private


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.test", False),
    ],
)
def test_private_receivers_are_allowed_by_default_only_while_listening_on_loopback(host, loopback):
    assert Settings(host=host).allows_private_webhooks is loopback
    assert Settings(host=host, webhook_allow_private=True).allows_private_webhooks is True
    assert Settings(host=host, webhook_allow_private=False).allows_private_webhooks is False
    # Worker processes are not given --host: they get the decision itself.
    assert Settings(host=host).to_env()["KOMOJU_WEBHOOK_ALLOW_PRIVATE"] == ("1" if loopback else "0")
    env = Settings(host=host).to_env()
    assert Settings.from_env(env).allows_private_webhooks is loopback


def test_webhook_allow_private_from_the_environment():
    assert Settings.from_env({"KOMOJU_WEBHOOK_ALLOW_PRIVATE": "0"}).webhook_allow_private is False
    assert Settings.from_env({"KOMOJU_WEBHOOK_ALLOW_PRIVATE": "true"}).webhook_allow_private is True
    assert Settings.from_env({}).webhook_allow_private is None
    with pytest.raises(SystemExit, match="KOMOJU_WEBHOOK_ALLOW_PRIVATE must be 1 or 0, not 'maybe'"):
        Settings.from_env({"KOMOJU_WEBHOOK_ALLOW_PRIVATE": "maybe"})


def test_a_refused_webhook_url_stops_the_server_before_it_starts():
    with pytest.raises(ValueError) as refused:
        options_from(Settings(host="0.0.0.0", webhook_url="http://10.0.0.1:8000/hook"))
    assert str(refused.value) == (
        "--webhook-url is a private address, which the outbound policy refuses "
        "(--webhook-allow-private allows loopback and private ones)"
    )
    with pytest.raises(ValueError, match="--webhook-url is a metadata address"):
        options_from(Settings(webhook_url="http://169.254.169.254/", webhook_allow_private=True))
    assert options_from(Settings(host="0.0.0.0", webhook_url="http://receiver.test/")).allow_private is False
    assert options_from(Settings(webhook_url="http://127.0.0.1:9000/")).allow_private is True


# -- the connecting backend, with a stub resolver and a fake network --------------------------


class FakeNetwork(httpcore.AsyncNetworkBackend):
    """Stands in for the network: records where it was asked to connect, connects nowhere."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append((host, port))
        raise httpcore.ConnectError("the fake network connects nowhere")


def stub(table: dict[str, list[str]]) -> connect.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such name")
        return table[host]

    return resolve


def connect_with(backend: connect.PolicyBackend, host: str, port: int = 443) -> None:
    asyncio.run(backend.connect_tcp(host, port, timeout=1))


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.1"],
        ["93.184.216.34", "10.0.0.1"],  # one inside address among public ones refuses them all
        ["169.254.169.254"],
        ["::ffff:127.0.0.1"],
        ["93.184.216.34", "fd00:ec2::254"],
    ],
)
def test_a_name_that_resolves_inside_is_refused_before_any_connection(addresses):
    network = FakeNetwork()
    backend = connect.PolicyBackend(False, stub({NAME: addresses}), network)
    with pytest.raises(connect.Refused):
        connect_with(backend, NAME)
    assert network.connected == []


def test_the_connection_goes_to_the_checked_address_not_to_the_name_again():
    network = FakeNetwork()
    backend = connect.PolicyBackend(False, stub({NAME: ["93.184.216.34", "2606:4700:4700::1111"]}), network)
    with pytest.raises(httpcore.ConnectError) as failed:
        connect_with(backend, NAME, 8443)
    assert not isinstance(failed.value, connect.Refused)
    # Both checked addresses tried, in order, by address (the fake network connects nowhere).
    assert network.connected == [("93.184.216.34", 8443), ("2606:4700:4700::1111", 8443)]


def test_a_literal_address_is_decided_without_resolving():
    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {host}")

    network = FakeNetwork()
    with pytest.raises(connect.Refused) as refused:
        connect_with(connect.PolicyBackend(False, no_dns, network), "169.254.169.254", 80)
    assert refused.value.category == "metadata"
    assert network.connected == []


def test_a_name_that_does_not_resolve_could_not_connect():
    network = FakeNetwork()
    with pytest.raises(httpcore.ConnectError) as failed:
        connect_with(connect.PolicyBackend(True, stub({}), network), "nowhere.test")
    assert not isinstance(failed.value, connect.Refused)
    assert network.connected == []


def test_error_kinds_say_only_refused_by_policy_or_could_not_connect():
    refused = httpx.ConnectError("x")
    refused.__cause__ = connect.Refused("private")
    assert error_kind(refused) == REFUSED_BY_POLICY
    for other in (httpx.ConnectError("[Errno 111] Connection refused"), httpx.ReadTimeout("t"), TimeoutError()):
        assert error_kind(other) == NO_ANSWER


# -- over the network, loopback only -----------------------------------------------------------


def post_through_worker(allow_private: bool, url: str, resolver: connect.Resolver) -> httpx.Response:
    """One POST through the worker's own client (transport, policy and all)."""
    worker = Worker(store=None, vault=None, options=Options(allow_private=allow_private, resolver=resolver))  # type: ignore[arg-type]

    async def post() -> httpx.Response:
        client = worker._new_client()
        try:
            return await client.post(url, content=b"{}")
        finally:
            await client.aclose()

    return asyncio.run(post())


def test_a_name_resolving_to_a_loopback_receiver_is_delivered_with_its_own_host_header():
    with receiver() as rx:
        answer = post_through_worker(True, f"http://{NAME}:{rx.port}/hook", stub({NAME: ["127.0.0.1"]}))
        assert answer.status_code == 200
        (got,) = rx.received()
        assert (got.path, got.headers["host"]) == ("/hook", f"{NAME}:{rx.port}")


def test_a_name_resolving_to_a_loopback_receiver_is_refused_when_private_addresses_are():
    with receiver() as rx:
        with pytest.raises(httpx.ConnectError) as failed:
            post_through_worker(False, f"http://{NAME}:{rx.port}/hook", stub({NAME: ["127.0.0.1"]}))
        assert error_kind(failed.value) == REFUSED_BY_POLICY
        with pytest.raises(httpx.ConnectError):
            post_through_worker(False, f"http://127.0.0.1:{rx.port}/hook", stub({}))
        assert rx.received() == []


# -- the API, in process -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


REFUSED_URLS = [
    "http://10.0.0.1/hook",
    "http://192.168.1.1:8080/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0:5432/",
    "http://127.0.0.1:5432/",
    "http://[::1]:6379/",
    "http://0x7f000001/",
    "http://localhost:8080/",
]
INVALID_URL = {"error": {"code": "invalid_parameter", "message": "The value of url is invalid", "param": "url"}}


def deliveries(api: httpx.Client, webhook_id: str) -> list[dict]:
    answer = api.get(f"/webhooks/{webhook_id}/deliveries", params={"per_page": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_registering_a_refused_address_answers_422_and_nothing_is_attempted(database):
    # The policy refuses private addresses: no address below could ever be connected to.
    with own_app(database, webhook_allow_private=False) as server, server.client(server.secret_key) as api:
        for url in REFUSED_URLS:
            answer = api.post("/webhooks", json={"url": url, "secret_token": SECRET})
            assert (answer.status_code, answer.json()) == (422, INVALID_URL), url
        listed = api.get("/webhooks").json()
        assert (listed["total"], listed["data"]) == (0, [])
        assert api.get("/events").json()["total"] == 0  # no endpoint, so no ping


def test_a_loopback_receiver_behind_a_name_is_refused_at_delivery_and_patching_to_an_address_is_refused(database):
    with (
        receiver() as rx,
        own_app(database, webhook_allow_private=False) as server,
        server.client(server.secret_key) as api,
    ):
        server.runtime.deliveries.resolve_with(stub({NAME: ["127.0.0.1"]}))
        url = f"http://{NAME}:{rx.port}/hook"
        hook = api.post("/webhooks", json={"url": url, "secret_token": SECRET})
        assert hook.status_code == 200, hook.text
        hook_id = hook.json()["id"]
        found: list[dict] = []
        for _ in range(600):
            found = deliveries(api, hook_id)
            if found and found[0]["attempts"] and found[0]["attempts"][0]["status"] == "failed":
                break
            time.sleep(0.05)
        first = found[0]["attempts"][0]
        assert (first["status"], first["response_code"], first["error"]) == ("failed", None, COULD_NOT_CONNECT)
        assert rx.received() == []

        for refused in ("http://127.0.0.1:5432/", "http://[fd00:ec2::254]/"):
            patched = api.patch(f"/webhooks/{hook_id}", json={"url": refused})
            assert (patched.status_code, patched.json()) == (422, INVALID_URL)
        assert api.get(f"/webhooks/{hook_id}").json()["url"] == url
        assert rx.received() == []


def test_with_private_addresses_allowed_a_named_loopback_receiver_gets_deliveries_and_a_3xx_is_an_answer(database):
    with receiver() as rx, own_app(database) as server, server.client(server.secret_key) as api:
        server.runtime.deliveries.resolve_with(stub({NAME: ["127.0.0.1"]}))
        rx.status = 302  # not followed: the receiver's answer
        hook = api.post("/webhooks", json={"url": f"http://{NAME}:{rx.port}/hook", "secret_token": SECRET})
        assert hook.status_code == 200, hook.text
        rx.wait_for(lambda got: len(got) >= 1)
        found: list[dict] = []
        for _ in range(600):
            found = deliveries(api, hook.json()["id"])
            if found and found[0]["attempts"] and found[0]["attempts"][0]["status"] == "failed":
                break
            time.sleep(0.05)
        first = found[0]["attempts"][0]
        assert (first["status"], first["response_code"], first["error"]) == ("failed", 302, "answered HTTP 302")
        assert rx.received()[0].headers["host"] == f"{NAME}:{rx.port}"
        rx.status = 200
        created(api, card())
        rx.wait_events("/hook", ["payment.captured"])
