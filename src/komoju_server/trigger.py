"""`komoju-server trigger`: plays a scenario (scenarios.py) through a running server's API over
HTTP, as a merchant's server and its customer would, and says what it made.

Only the API is used (with the secret key given), so any komoju-server reachable over HTTP
will do, and every webhook, console line and event is what real traffic would make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from komoju_server.domain.clock import parse_iso
from komoju_server.scenarios import RESOURCE_PATHS, SCENARIOS, Advance, Call, Scenario

API = "/api/v1"
TIMEOUT = 60.0  # seconds per call: a clock advance fires every deadline it passes before it answers


class TriggerError(Exception):
    """The scenario could not be played; the message says why."""


@dataclass
class Played:
    scenario: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # kept name -> the object, read back
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "objects": {name: _summary(obj) for name, obj in self.objects.items()},
            "mismatches": self.mismatches,
        }


def api_base(url: str) -> str:
    """The API's base from a server's URL (`http://127.0.0.1:8080`) or the API's own."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise TriggerError(f"--url must be an http:// or https:// URL, not {url!r}")
    return base if base.endswith(API) else base + API


def play(
    name: str,
    url: str,
    secret_key: str,
    say: Callable[[str], None] = lambda line: None,
    transport: httpx.BaseTransport | None = None,
) -> Played:
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise TriggerError(f"no scenario named {name!r}; komoju-server trigger --list names them")
    base = api_base(url)
    with httpx.Client(
        base_url=base, auth=(secret_key, ""), timeout=TIMEOUT, transport=transport, trust_env=False
    ) as client:
        return _Player(scenario, client, say).run()


class _Player:
    def __init__(self, scenario: Scenario, client: httpx.Client, say: Callable[[str], None]) -> None:
        self._scenario = scenario
        self._client = client
        self._say = say
        self._kept: dict[str, dict[str, Any]] = {}

    def run(self) -> Played:
        for step in self._scenario.steps:
            if isinstance(step, Call):
                self._call(step)
            else:
                self._advance(step)
        played = Played(self._scenario.name)
        for name in self._kept:
            played.objects[name] = self._read_back(name)
        for name, status in self._scenario.expect.items():
            got = played.objects.get(name, {}).get("status")
            if got != status:
                played.mismatches.append(f"{name} {_id(played.objects.get(name))} is {got}, not {status}")
        return played

    def _call(self, step: Call) -> None:
        path = self._fill(step.path)
        body = self._fill(step.body) if step.body is not None else None
        answer = self._send(step.method, path, body)
        if answer.status_code != step.status:
            raise TriggerError(f"{step.method} {API}{path} answered {answer.status_code}: {_error_text(answer)}")
        if step.keep is not None:
            self._kept[step.keep] = answer.json()
        self._say(f"  {step.says}: {_describe(answer.json())}")

    def _advance(self, step: Advance) -> None:
        seconds = step.seconds
        if step.past is not None:
            name, field_name = step.past
            obj = self._read_back(name)
            moment = obj.get(field_name)
            if not isinstance(moment, str):
                raise TriggerError(f"{name} {_id(obj)} has no {field_name} to move the clock past")
            now = self._send("GET", "/sandbox/clock", None)
            if now.status_code != 200:
                raise TriggerError(f"GET {API}/sandbox/clock answered {now.status_code}: {_error_text(now)}")
            seconds = max(1, _epoch(moment) - _epoch(now.json()["now"]) + step.margin)
        answer = self._send("POST", "/sandbox/clock/advance", {"seconds": seconds})
        if answer.status_code != 200:
            raise TriggerError(f"POST {API}/sandbox/clock/advance answered {answer.status_code}: {_error_text(answer)}")
        self._say(f"  {step.says}: the merchant's clock is now {answer.json()['now']} ({_duration(seconds)} later)")

    def _read_back(self, name: str) -> dict[str, Any]:
        obj = self._kept[name]
        prefix = RESOURCE_PATHS.get(str(obj.get("resource")))
        if prefix is None:
            return obj
        answer = self._send("GET", f"{prefix}/{obj['id']}", None)
        if answer.status_code != 200:
            raise TriggerError(f"GET {API}{prefix}/{obj['id']} answered {answer.status_code}: {_error_text(answer)}")
        self._kept[name] = answer.json()
        return self._kept[name]

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        try:
            return self._client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise TriggerError(f"cannot reach {self._client.base_url}: {type(exc).__name__}: {exc}") from None

    def _fill(self, value: Any) -> Any:
        """`{name}` in strings becomes the id of the object kept under that name, and
        `{name.refund_request}` the id of that payment's newest refund request."""
        if isinstance(value, str):
            for name, obj in self._kept.items():
                requests = obj.get("refund_requests") or []
                if requests:
                    value = value.replace("{" + name + ".refund_request}", str(requests[-1]["id"]))
                value = value.replace("{" + name + "}", str(obj["id"]))
            return value
        if isinstance(value, dict):
            return {key: self._fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._fill(item) for item in value]
        return value


def describe_played(played: Played) -> list[str]:
    """What the scenario made, one line per object (ids first, for copying)."""
    lines = []
    for obj in played.objects.values():
        lines.append(_describe(obj))
        for payment_id in obj.get("payments") or ():
            lines.append(f"  payment {payment_id}")
    return lines


def scenario_lines() -> list[str]:
    width = max(len(name) for name in SCENARIOS)
    lines = []
    for name, scenario in SCENARIOS.items():
        clock = " (moves the merchant's sandbox clock)" if scenario.moves_clock else ""
        lines.append(f"{name:<{width}}  {scenario.summary}{clock}")
    return lines


def _describe(obj: dict[str, Any]) -> str:
    summary = _summary(obj)
    text = f"{summary['resource']} {summary['id']}"
    if summary.get("status") is not None:
        text += f" {summary['status']}"
    if obj.get("resource") == "payment":
        refunded = obj.get("amount_refunded") or 0
        text += f" (total {obj.get('total')} {obj.get('currency')}"
        if refunded:
            text += f", {refunded} refunded"
        short = (obj.get("payment_details") or {}).get("short_amount")
        if short:
            text += f", {short} short"
        text += ")"
    if obj.get("resource") == "subscription":
        text += f" ({len(obj.get('payments') or [])} payments, next charge {obj.get('next_capture_at') or 'none'})"
    return text


def _summary(obj: dict[str, Any]) -> dict[str, Any]:
    out = {"resource": obj.get("resource"), "id": obj.get("id"), "status": obj.get("status")}
    if obj.get("payments") is not None:
        out["payments"] = obj["payments"]
    return out


def _id(obj: dict[str, Any] | None) -> str:
    return str((obj or {}).get("id"))


def _error_text(answer: httpx.Response) -> str:
    try:
        error = answer.json()["error"]
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _epoch(moment: str) -> int:
    try:
        return parse_iso(moment)
    except ValueError:
        raise TriggerError(f"the server answered a time that is not ISO 8601: {moment!r}") from None


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return "".join(parts) or f"{seconds}s"
