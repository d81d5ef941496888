"""The payment state machine: ONE table of what each action may do, and from where.

Every change of a payment's status goes through `apply`. An action refused from the
current status answers the action's own KOMOJU error code.
"""

from __future__ import annotations

from dataclasses import dataclass

from komoju_server.domain.errors import ApiError

STATUSES = ("pending", "authorized", "captured", "expired", "cancelled", "refunded", "failed")


@dataclass(frozen=True)
class Action:
    sources: frozenset[str]
    target: str
    refusal: str  # error code when the payment is in any other status


ACTIONS: dict[str, Action] = {
    # The processor authorized a payment that is waiting (a card with capture=false, a
    # konbini slip, a redirect) or a prepaid payment that was short of funds.
    "authorize": Action(frozenset({"pending"}), "authorized", "not_capturable"),
    "capture": Action(frozenset({"pending", "authorized"}), "captured", "not_capturable"),
    "cancel": Action(frozenset({"pending", "authorized"}), "cancelled", "not_cancellable"),
    "expire": Action(frozenset({"pending", "authorized"}), "expired", "not_cancellable"),
    "fail": Action(frozenset({"pending", "authorized"}), "failed", "not_cancellable"),
    "refund_partially": Action(frozenset({"captured"}), "captured", "not_refundable"),
    "refund": Action(frozenset({"captured"}), "refunded", "not_refundable"),
}

# Every (from, to) pair the table allows, derived once, for inspection and tests.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    (source, action.target) for action in ACTIONS.values() for source in action.sources if source != action.target
)


def apply(action_name: str, status: str) -> str:
    action = ACTIONS[action_name]
    if status not in action.sources:
        raise ApiError(action.refusal)
    return action.target


def allowed(action_name: str, status: str) -> bool:
    return status in ACTIONS[action_name].sources
