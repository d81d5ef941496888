"""The limits table (limits.py): one flag and one variable per limit, read into Settings by the
command line and the environment alike, and passed on to worker processes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from komoju_server.cli import build_parser, settings_from
from komoju_server.config import Settings
from komoju_server.limits import LIMITS, Limits, check


def test_the_table_and_the_dataclass_list_the_same_limits_with_the_same_defaults():
    assert [limit.name for limit in LIMITS] == [field.name for field in dataclasses.fields(Limits)]
    assert {limit.name: limit.default for limit in LIMITS} == dataclasses.asdict(Limits())
    assert [limit.flag for limit in LIMITS][:2] == ["--max-request-line", "--max-header-bytes"]
    assert [limit.env for limit in LIMITS][-1] == "KOMOJU_MAX_CONNECTIONS"


def test_flags_set_limits_and_win_over_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOMOJU_MAX_BODY", "5000")
    monkeypatch.setenv("KOMOJU_HEADER_TIMEOUT", "2.5")
    args = build_parser().parse_args(["serve", "--max-body", "7000", "--max-connections", "12"])
    limits = settings_from(args).limits
    assert (limits.max_body, limits.max_connections, limits.header_timeout) == (7000, 12, 2.5)
    assert limits.max_headers == 100


def test_worker_processes_get_the_same_limits():
    settings = Settings(limits=Limits(max_depth=5, body_timeout=1.5))
    env = settings.to_env()
    assert (env["KOMOJU_MAX_DEPTH"], env["KOMOJU_BODY_TIMEOUT"]) == ("5", "1.5")
    assert Settings.from_env(env).limits == settings.limits


def test_a_limit_that_is_not_a_number_stops_start_up():
    with pytest.raises(SystemExit, match="error: KOMOJU_MAX_ARRAY must be a number, not 'many'"):
        Settings.from_env({"KOMOJU_MAX_ARRAY": "many"})


def test_a_limit_of_zero_is_refused(tmp_path: Path):
    assert check(Limits()) is None
    assert check(Limits(max_headers=0)) == "--max-headers must be more than 0"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "komoju_server",
            "serve",
            "--port",
            "0",
            "--max-body",
            "0",
            "--database-url",
            f"sqlite:///{tmp_path / 'k.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (2, "error: --max-body must be more than 0\n")
