"""The pytest plugin (`komoju_server/testing.py`) as a merchant's suite uses it: test files in a
directory of their own, run by `python -m pytest` in a subprocess, with the plugin loaded from
the installed package's entry point (as in any environment where komoju-server is installed).

This suite itself runs with `-p no:komoju` (pyproject.toml): its own tests cannot use the
plugin's fixtures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run_suite(directory: Path, *files: tuple[str, str], args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    (directory / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: none of this project's settings
    for name, text in files:
        (directory / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KOMOJU_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def summary(run: subprocess.CompletedProcess[str]) -> str:
    return run.stdout.strip().splitlines()[-1]


def readme_example(repo_root: Path) -> str:
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Testing your app with pytest", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's plugin section has one complete example test"
    return blocks[0]


def test_the_readme_example_passes_as_printed(tmp_path: Path, repo_root: Path):
    run = run_suite(tmp_path, ("test_readme_example.py", readme_example(repo_root)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.fullmatch(r"=+ 2 passed in [\d.]+s =+", summary(run)), run.stdout


HELPERS = """
import os
import signal

import httpx
import pytest

from komoju_server.testing import KomojuError

KONBINI = {"type": "konbini", "store": "lawson", "email": "taro@example.com"}


def konbini(merchant, **details):
    return merchant.request(
        "POST", "/payments", json={"amount": 1000, "currency": "JPY", "payment_details": {**KONBINI, **details}}
    )


def test_the_merchant_and_its_keys(komoju, komoju_server):
    assert komoju.base_url == komoju_server.url + "/api/v1"
    assert komoju.base_url.startswith("http://127.0.0.1:") and komoju.base_url.endswith("/api/v1")
    assert komoju.secret_key.startswith("sk_test_") and komoju.publishable_key.startswith("pk_test_")
    assert komoju_server.database_url.startswith("sqlite:///")
    assert httpx.get(komoju.url + "/health").status_code == 200
    with komoju.client(komoju.publishable_key) as browser:
        token = browser.post("/tokens", json={"payment_details": KONBINI})
        assert (token.status_code, token.json()["resource"]) == (200, "token")
        refused = browser.post("/payments", json={"amount": 1, "currency": "JPY", "payment_details": KONBINI})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    with komoju.client() as api:
        assert api.get("/payments").status_code == 200
    open("server.pid", "w").write(str(komoju_server.process.pid))


def test_complete_and_its_webhook(komoju):
    slip = konbini(komoju)
    assert komoju.complete(slip["id"])["status"] == "captured"
    event = komoju.webhooks.wait_for("payment.captured", object_id=slip["id"])
    assert (event["resource"], event["data"]["id"], event["data"]["status"]) == ("event", slip["id"], "captured")
    assert "ping" in [e["type"] for e in komoju.webhooks.events]  # the registration's
    received = [w for w in komoju.webhooks.received if w.type == "payment.captured"][-1]
    assert received.event_type == "payment.captured" and received.delivery_id
    assert received.headers["user-agent"] == "Komoju-Webhook"


def test_fail(komoju):
    slip = konbini(komoju)
    assert komoju.fail(slip["id"])["status"] == "failed"
    komoju.webhooks.wait_for("payment.failed", object_id=slip["id"])


def test_the_clock_expires_a_slip(komoju_merchant):
    slip = konbini(komoju_merchant, expiry_days=1)
    before = komoju_merchant.now()
    moved = komoju_merchant.advance_clock(days=2, hours=1)
    assert moved["offset"] >= 2 * 86400 + 3600 and moved["now"] > before
    assert komoju_merchant.request("GET", f"/payments/{slip['id']}")["status"] == "expired"
    assert komoju_merchant.webhooks.wait_for("payment.expired", object_id=slip["id"])["data"]["status"] == "expired"


def test_a_fresh_merchant_sees_nothing_of_the_others(komoju, komoju_merchant):
    konbini(komoju)
    assert komoju_merchant.secret_key != komoju.secret_key and komoju_merchant.merchant_id
    assert komoju_merchant.request("GET", "/payments")["total"] == 0
    assert [e["type"] for e in komoju_merchant.webhooks.events] in ([], ["ping"])


def test_reset_erases_the_merchants_data(komoju):
    slip = konbini(komoju)
    komoju.webhooks.wait_for("payment.authorized", object_id=slip["id"])  # nothing of it still on its way
    erased = komoju.reset()
    assert erased["resource"] == "sandbox_reset" and erased["erased"]["payments"] >= 1
    assert komoju.request("GET", "/payments")["total"] == 0
    assert komoju.webhooks.events == []


def test_only_signed_webhooks_are_kept(komoju):
    hooks = komoju.webhooks
    forged = httpx.post(hooks.url, content=b'{"type": "payment.captured"}', headers={"X-Komoju-Signature": "00"})
    assert forged.status_code == 401
    assert hooks.rejected and all(e["type"] != "payment.captured" or e.get("data") for e in hooks.events)


def test_a_refused_helper_call_names_the_error(komoju):
    with pytest.raises(KomojuError) as refused:
        komoju.complete("nosuchpayment")
    assert refused.value.status_code == 404
    assert refused.value.body["error"]["code"] == "not_found"
    assert "POST /api/v1/sandbox/payments/nosuchpayment/complete answered 404" in str(refused.value)
"""


def test_every_helper_against_the_real_server(tmp_path: Path):
    run = run_suite(tmp_path, ("test_helpers.py", HELPERS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.fullmatch(r"=+ 8 passed in [\d.]+s =+", summary(run)), run.stdout
    # The session's server was stopped when the session ended.
    pid = int((tmp_path / "server.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


FAILING = """
def test_waits_for_a_webhook_that_never_comes(komoju):
    slip = komoju.request(
        "POST",
        "/payments",
        json={"amount": 1000, "currency": "JPY",
              "payment_details": {"type": "konbini", "store": "lawson", "email": "taro@example.com"}},
    )
    komoju.webhooks.wait_for("payment.captured", object_id=slip["id"], timeout=1)


def test_an_api_error(komoju):
    komoju.request("POST", "/payments", json={"amount": 1000, "currency": "XXX"})


def test_passes(komoju):
    assert komoju.request("GET", "/payments")["resource"] == "list"
"""


def test_a_failing_test_reports_what_happened(tmp_path: Path):
    run = run_suite(tmp_path, ("test_failing.py", FAILING))
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert re.fullmatch(r"=+ 2 failed, 1 passed in [\d.]+s =+", summary(run)), out
    # What it waited for and what came instead (the registration's ping in any order).
    waited = re.search(r"AssertionError: no payment.captured webhook about (\w{25}) within 1s; received: \[(.*)\]", out)
    assert waited, out
    assert sorted(waited.group(2).split(", ")) == sorted(
        [f"'payment.authorized {waited.group(1)}'", *re.findall(r"'ping \w{25}'", waited.group(2))]
    )
    # The server's console during the test: the request that made the slip, and its webhooks.
    assert "- komoju-server console -" in out
    assert re.search(r"POST /api/v1/payments 200 [\d.]+ms id=\w+", out), out
    assert re.search(r"webhook payment.authorized \w{25} -> http://127.0.0.1:\d+/\w+ 200", out), out
    # The webhooks that came during the test (the registration's ping may come before it, or after).
    during = re.search(r"- komoju webhooks received during the test \(komoju\) -+\n((?:\S+ \w{25}\n)+)", out)
    assert during, out
    kinds = sorted(line.split()[0] for line in during.group(1).splitlines())
    assert kinds in (["payment.authorized"], ["payment.authorized", "ping"]), out
    assert re.search(r"- komoju-server console -+\n\S+ \S+ POST /api/v1/payments 422 [\d.]+ms id=\w+\n-", out), out
    # An API call refused: the call, the status and KOMOJU's error envelope.
    assert (
        "KomojuError: POST /api/v1/payments answered 422: {'error': {'code': 'invalid_currency', "
        "'message': 'The currency you requested is invalid.', 'param': 'currency', 'details': "
    ) in out, out


def test_the_suites_own_tests_run_without_the_plugin(request: pytest.FixtureRequest):
    assert request.config.pluginmanager.is_blocked("komoju")
    assert request.config.pluginmanager.get_plugin("komoju") is None
    with pytest.raises(pytest.FixtureLookupError):
        request.getfixturevalue("komoju")
