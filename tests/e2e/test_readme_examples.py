"""The README's curl commands, run as printed against servers started as the README says.

Every `curl` of the README, in a code block or in inline code, is found with the section it is
in. A section that says how its server runs ("The server runs with `./scripts/run --secret-key
sk_test_shop ...`") gets a server started that way, the others one started as "Two commands" says (`./scripts/run`
on a fresh clone). Each command runs with real curl (or, where curl is missing, parsed and
replayed with httpx), with `http://127.0.0.1:8080` replaced by the server's address and the
receiver's `http://127.0.0.1:9000` by a receiver of the test's own; every one must answer 2xx
and what the README shows after it (`"key": "value"` fragments, and JSON printed in its
comments). The checkout walk's customer pays through the API, as the hosted page does, and its
webhook must arrive signed with the README's secret.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from komoju_server.testing import Webhooks, _Receiver
from tests.e2e.test_readme_start import run_script
from tests.support import ServerProcess

README_URL = "http://127.0.0.1:8080"
RECEIVER_URL = "http://127.0.0.1:9000"
DEFAULT_START = "./scripts/run"


@dataclass(frozen=True)
class Command:
    line: int
    section: str
    text: str  # the shell command, as printed (comments dropped)
    shows: tuple[str, ...]  # `"key": "value"` fragments the README shows for its answer
    printed: dict[str, Any] | None  # the JSON answer a comment prints, if any
    start: str  # how the README starts the server it runs against

    @property
    def key(self) -> str:
        found = re.search(r"-u (\S+?):", self.text)
        assert found, f"README line {self.line}: the curl has no -u KEY:"
        return found.group(1)


def readme_commands(readme: str) -> list[Command]:
    found: list[Command] = []
    sections = re.split(r"(?m)^(?=## )", readme)
    offset = 0
    for section in sections:
        title = section.splitlines()[0] if section else ""
        started = re.search(r"runs with `(\./scripts/run[^`]*)`", section)
        start = started.group(1) if started else DEFAULT_START
        spans = []
        for block in re.finditer(r"```sh\n(.*?)```", section, re.S):
            body = textwrap.dedent(block.group(1))
            if body.lstrip().startswith("curl "):
                spans.append((block.start(), block.end(), body))
        for inline in re.finditer(r"`(curl [^`]+)`", section):
            if not any(a <= inline.start() < b for a, b, _ in spans):
                spans.append((inline.start(), inline.end(), inline.group(1)))
        spans.sort()
        for index, (begin, end, body) in enumerate(spans):
            following = section[end : spans[index + 1][0] if index + 1 < len(spans) else len(section)]
            following = following.split("\n\n", 1)[0] if body.startswith("curl") and "\n" not in body else following
            comments = [line.lstrip("# ") for line in body.splitlines() if line.startswith("#")]
            command = " ".join(
                line.rstrip("\\").strip() for line in body.splitlines() if line.strip() and not line.startswith("#")
            )
            shows = tuple(
                f'"{k}": "{v}"' for k, v in re.findall(r'`"(\w+)":\s+"([^"]+)"`', following.replace("\n", " "))
            )
            found.append(
                Command(
                    line=readme[: offset + begin].count("\n") + 1,
                    section=title,
                    text=" ".join(command.split()),
                    shows=shows,
                    printed=_printed(comments),
                    start=start,
                )
            )
        offset += len(section)
    return found


def _printed(comments: list[str]) -> dict[str, Any] | None:
    text = " ".join(comments).strip()
    return json.loads(text) if text.startswith("{") else None


def parse_curl(command: str) -> tuple[str, str, str, list[str]]:
    """(method, url, key, -d fields) of a curl command line."""
    words = shlex.split(command)
    assert words[0] == "curl"
    method, url, key, fields = "GET", "", "", []
    items = iter(words[1:])
    for word in items:
        if word == "-u":
            key = next(items).rstrip(":")
        elif word == "-d":
            fields.append(next(items))
            method = "POST" if method == "GET" else method
        elif word == "-X":
            method = next(items)
        else:
            url = word
    return method, url, key, fields


def run_curl(command: str) -> tuple[int, Any]:
    """The status and JSON answer of a curl command: by curl itself, else replayed with httpx."""
    if shutil.which("curl"):
        done = subprocess.run(
            ["bash", "-c", command + ' -s -w "\\n%{http_code}"'], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        body, _, status = done.stdout.rpartition("\n")
        return int(status), json.loads(body)
    method, url, key, fields = parse_curl(command)
    answer = httpx.request(
        method,
        url,
        auth=(key, ""),
        content="&".join(fields).encode() if fields else None,
        headers={"Content-Type": "application/x-www-form-urlencoded"} if fields else None,
    )
    return answer.status_code, answer.json()


def holds(fragment: str, answer: Any) -> bool:
    """A `"key": "value"` fragment is found somewhere in the answer (at any depth)."""
    key, value = json.loads("{" + fragment + "}").popitem()
    if isinstance(answer, dict):
        return answer.get(key) == value or any(holds(fragment, v) for v in answer.values())
    if isinstance(answer, list):
        return any(holds(fragment, v) for v in answer)
    return False


def matches(printed: Any, answer: Any) -> bool:
    """The JSON a README comment prints, `...` standing for any text."""
    if isinstance(printed, dict):
        return (
            isinstance(answer, dict)
            and set(printed) == set(answer)
            and all(matches(printed[k], answer[k]) for k in printed)
        )
    if isinstance(printed, str) and "..." in printed:
        pattern = ".*".join(re.escape(part) for part in printed.split("..."))
        return isinstance(answer, str) and re.fullmatch(pattern, answer) is not None
    return printed == answer


@pytest.fixture
def clone(tmp_path: Path, repo_root: Path) -> Path:
    """A fresh clone as far as scripts/run can tell: no komoju.db, .venv set up."""
    checkout = tmp_path / "clone"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(repo_root / "scripts" / "run", checkout / "scripts" / "run")
    setup = checkout / "scripts" / "setup"
    setup.write_text("#!/bin/sh\nexit 0\n")
    setup.chmod(0o755)
    (checkout / ".venv").symlink_to(repo_root / ".venv")
    return checkout


def banner_key(server: ServerProcess) -> str:
    for line in server.output:
        if line.startswith("  test secret key: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError("the start banner names no test secret key:\n" + "".join(server.output))


def test_the_readme_is_read_right(repo_root: Path):
    commands = readme_commands((repo_root / "README.md").read_text())
    assert len(commands) >= 5
    first = commands[0]
    assert first.start == DEFAULT_START and first.key == "sk_test_123456"
    assert parse_curl(first.text)[:3] == ("POST", README_URL + "/api/v1/payments", "sk_test_123456")
    assert "payment_details[store]=lawson" in parse_curl(first.text)[3]
    secure = next(c for c in commands if "/secure_tokens" in c.text)
    assert secure.printed is not None and secure.printed["verification_status"] == "NEEDS_VERIFY"
    walk = [c for c in commands if c.start != DEFAULT_START]
    assert [parse_curl(c.text)[0] for c in walk] == ["POST", "POST", "GET"]
    assert walk[0].start == "./scripts/run --secret-key sk_test_shop --publishable-key pk_test_shop"
    assert '"status": "pending"' in walk[1].shows and '"status": "completed"' in walk[2].shows


def test_every_readme_curl_answers_what_the_readme_shows(clone: Path, repo_root: Path):
    commands = readme_commands((repo_root / "README.md").read_text())
    receiver = _Receiver()
    hooks = Webhooks(RECEIVER_URL + "/hooks", "whsec_local")
    receiver._paths["/hooks"] = hooks  # the README's receiver and its secret
    starts = list(dict.fromkeys(c.start for c in commands))
    try:
        for start in starts:
            (clone / "komoju.db").unlink(missing_ok=True)
            for leftover in clone.glob("komoju.db*"):
                leftover.unlink()
            words = shlex.split(start)
            assert words[0] == DEFAULT_START, start
            server = run_script(clone, *words[1:])
            try:
                _run_section(server, [c for c in commands if c.start == start], receiver, hooks)
            finally:
                assert server.stop() == 0
    finally:
        receiver.close()
    assert len(starts) == 2


def _run_section(server: ServerProcess, commands: list[Command], receiver: _Receiver, hooks: Webhooks) -> None:
    started_with = banner_key(server)
    last_id: str | None = None
    for command in commands:
        where = f"README line {command.line} ({command.section})"
        assert command.key == started_with, (
            f"{where} uses the key {command.key}, but the server started as the README says "
            f"({command.start}) has {started_with}"
        )
        text = command.text.replace(README_URL, server.url).replace(RECEIVER_URL, receiver.base)
        if "<id>" in text:
            assert last_id, f"{where}: <id> of what?"
            text = text.replace("<id>", last_id)
            if "/sessions/" in text:
                _customer_pays(server, last_id)
        status, answer = run_curl(text)
        assert 200 <= status < 300, f"{where}: {status} {answer}"
        for fragment in command.shows:
            shown = fragment.replace("<id>", last_id or "")
            assert holds(shown, answer), f"{where}: the README shows {shown}, the answer is {answer}"
        if command.printed is not None:
            printed = json.loads(json.dumps(command.printed).replace(README_URL, server.url))
            assert matches(printed, answer), f"{where}: the README prints {printed}, the answer is {answer}"
        last_id = answer.get("id", last_id) if isinstance(answer, dict) else last_id
        if command.start == DEFAULT_START and "/payments" in text:
            assert (answer["resource"], answer["status"], answer["payment_details"]["type"]) == (
                "payment",
                "authorized",
                "konbini",
            )
    if any("/webhooks" in c.text for c in commands):
        # Step 6: the webhook arrives, signed with the README's secret (Webhooks keeps only those).
        event = hooks.wait_for("payment.captured", timeout=15)
        assert event["data"]["session"] == last_id and hooks.rejected == []


def _customer_pays(server: ServerProcess, session_id: str) -> None:
    """Step 3, the customer on the hosted page, through the API the page uses: the card the
    README names, which needs no 3-D Secure."""
    with httpx.Client(base_url=server.url + "/api/v1", auth=("pk_test_shop", "")) as browser:
        paid = browser.post(
            f"/sessions/{session_id}/pay",
            json={
                "payment_details": {
                    "type": "credit_card",
                    "number": "4111111111111111",
                    "month": "12",
                    "year": "2030",
                    "verification_value": "123",
                }
            },
        )
    assert paid.status_code == 200, paid.text
