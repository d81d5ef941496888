"""The payment state machine: every allowed change, and every refused one with its code."""

from __future__ import annotations

import itertools

import pytest

from komoju_server.domain import states
from komoju_server.domain.errors import ApiError

# The table as the API document and KOMOJU's notes describe it, written out independently:
# action -> (statuses it may start from, status it leads to, error code otherwise).
EXPECTED = {
    "authorize": ({"pending"}, "authorized", "not_capturable"),
    "capture": ({"pending", "authorized"}, "captured", "not_capturable"),
    "cancel": ({"pending", "authorized"}, "cancelled", "not_cancellable"),
    "expire": ({"pending", "authorized"}, "expired", "not_cancellable"),
    "fail": ({"pending", "authorized"}, "failed", "not_cancellable"),
    "refund_partially": ({"captured"}, "captured", "not_refundable"),
    "refund": ({"captured"}, "refunded", "not_refundable"),
}
ALLOWED = [(a, s) for a, (sources, _, _) in EXPECTED.items() for s in sorted(sources)]
REFUSED = [(a, s) for a, s in itertools.product(EXPECTED, states.STATUSES) if (a, s) not in ALLOWED]


def test_statuses():
    assert states.STATUSES == ("pending", "authorized", "captured", "expired", "cancelled", "refunded", "failed")


def test_the_table_is_the_expected_one():
    assert {
        name: (set(action.sources), action.target, action.refusal) for name, action in states.ACTIONS.items()
    } == EXPECTED


def test_transitions_are_the_status_changes_of_the_table():
    assert {
        ("pending", "authorized"),
        ("pending", "captured"),
        ("authorized", "captured"),
        ("pending", "cancelled"),
        ("authorized", "cancelled"),
        ("pending", "expired"),
        ("authorized", "expired"),
        ("pending", "failed"),
        ("authorized", "failed"),
        ("captured", "refunded"),
    } == states.TRANSITIONS


@pytest.mark.parametrize(("source", "target"), sorted(states.TRANSITIONS))
def test_every_transition_is_reachable_by_some_action(source, target):
    assert any(states.allowed(name, source) and states.apply(name, source) == target for name in states.ACTIONS)


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_allowed(action, status):
    assert states.allowed(action, status)
    assert states.apply(action, status) == EXPECTED[action][1]


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_with_the_actions_code(action, status):
    assert not states.allowed(action, status)
    with pytest.raises(ApiError) as info:
        states.apply(action, status)
    assert info.value.code == EXPECTED[action][2]
    assert info.value.status == 422
    assert info.value.param is None


@pytest.mark.parametrize("status", ["expired", "cancelled", "refunded", "failed"])
def test_final_statuses_go_nowhere(status):
    assert not any(states.allowed(name, status) for name in states.ACTIONS)


def test_every_pair_is_decided():
    assert len(ALLOWED) + len(REFUSED) == len(states.ACTIONS) * len(states.STATUSES)
