"""Receivers that are down are not knocked on again and again: one probe per hold."""

from __future__ import annotations

from komoju_server.webhooks.breaker import Breakers, origin

REFUSED = "ConnectError: [Errno 111] Connection refused"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_origin_is_scheme_host_and_port():
    assert origin("https://Shop.Example.com:8443/hooks/komoju?x=1") == "https://shop.example.com:8443"
    assert origin("http://127.0.0.1:9/a") == origin("http://127.0.0.1:9/b")
    assert origin("http://127.0.0.1:9/a") != origin("http://127.0.0.1:10/a")


def test_an_origin_nobody_failed_to_reach_is_sent_to():
    assert Breakers().refusal("http://a") is None


def test_after_a_failure_the_origin_is_not_sent_to_for_the_hold_then_one_probe_goes():
    clock = Clock()
    breakers = Breakers(hold=1.0, clock=clock)
    breakers.unreachable("http://a", REFUSED)
    clock.now += 0.4
    assert breakers.refusal("http://a") == f"not sent: {REFUSED} (0.4 s ago)"
    assert breakers.refusal("http://b") is None  # other origins are not affected
    clock.now += 0.6
    assert breakers.refusal("http://a") is None  # the probe
    refused = breakers.refusal("http://a")
    assert refused == f"not sent: {REFUSED} (1.0 s ago); another attempt is finding out whether it is back"


def test_a_failed_probe_holds_again_and_an_answer_closes():
    clock = Clock()
    breakers = Breakers(hold=1.0, clock=clock)
    breakers.unreachable("http://a", REFUSED)
    clock.now += 1.0
    assert breakers.refusal("http://a") is None
    breakers.unreachable("http://a", "no answer within 10s")
    assert breakers.refusal("http://a") == "not sent: no answer within 10s (0.0 s ago)"
    clock.now += 1.0
    assert breakers.refusal("http://a") is None
    breakers.answered("http://a")
    assert breakers.refusal("http://a") is None
    assert breakers.refusal("http://a") is None
