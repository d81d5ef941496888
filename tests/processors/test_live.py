"""Choosing the live processor: settings from flags and the environment, checked before serving."""

from __future__ import annotations

import pytest

from komoju_server.cli import build_parser, settings_from
from komoju_server.config import Settings
from komoju_server.processors.komoju import KomojuProcessor
from komoju_server.processors.live import check_live_processor, live_processor

UPSTREAM_KEY = "sk_live_from_the_environment"


def test_no_live_processor_by_default():
    assert live_processor(Settings()) is None


def test_the_environment_configures_the_upstream_and_flags_win(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KOMOJU_LIVE_PROCESSOR_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("KOMOJU_LIVE_PROCESSOR_URL", "https://env.example")
    monkeypatch.setenv("KOMOJU_LIVE_PROCESSOR_WEBHOOK_SECRET", "whsec")
    args = build_parser().parse_args(
        [
            "serve",
            "--live-processor",
            "komoju",
            "--live-processor-url",
            "https://flag.example/",
            "--live-processor-reconcile-every",
            "5",
        ]
    )
    settings = settings_from(args)
    assert (settings.live_processor, settings.live_processor_url) == ("komoju", "https://flag.example/")
    assert (settings.live_processor_key, settings.live_processor_webhook_secret) == (UPSTREAM_KEY, "whsec")
    assert settings.live_processor_reconcile_every == 5
    processor = live_processor(settings)
    assert isinstance(processor, KomojuProcessor) and processor.url == "https://flag.example"
    assert UPSTREAM_KEY not in repr(processor)
    # Worker processes get the same settings through the environment.
    again = Settings.from_env(settings.to_env())
    assert (again.live_processor, again.live_processor_key, again.live_processor_reconcile_every) == (
        "komoju",
        UPSTREAM_KEY,
        5.0,
    )


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"live_processor": "stripe"}, "must be one of komoju"),
        ({"live_processor_url": None}, "needs --live-processor-url"),
        ({"live_processor_url": "ftp://x"}, "http or https"),
        ({"live_processor_url": "https://user:pw@x"}, "must not carry credentials"),
        ({"live_processor_key": None}, "KOMOJU_LIVE_PROCESSOR_KEY"),
        ({"live_processor_reconcile_every": -1}, "reconcile-every"),
    ],
)
def test_incomplete_or_wrong_settings_stop_the_server(changes, complaint):
    settings = Settings(
        live_processor="komoju", live_processor_url="https://upstream.example", live_processor_key=UPSTREAM_KEY
    )
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(ValueError, match=complaint):
        check_live_processor(settings)
