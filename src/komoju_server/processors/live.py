"""The live processor a server is configured with (`serve --live-processor NAME`).

Test mode always uses the sandbox. Live mode uses what the operator names here, or nothing:
with no live processor, live payments are refused (403), never faked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from komoju_server.config import Settings
from komoju_server.processors.base import Processor
from komoju_server.processors.komoju import NAME as KOMOJU
from komoju_server.processors.komoju import KomojuProcessor

LIVE_PROCESSORS = (KOMOJU,)


def check_live_processor(settings: Settings) -> None:
    """ValueError naming what is missing or wrong, so `serve` stops before it listens."""
    name = settings.live_processor
    if name is None:
        return
    if name not in LIVE_PROCESSORS:
        raise ValueError(f"--live-processor must be one of {', '.join(LIVE_PROCESSORS)}, not {name!r}")
    url = settings.live_processor_url
    if not url:
        raise ValueError("--live-processor komoju needs --live-processor-url (or KOMOJU_LIVE_PROCESSOR_URL)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("--live-processor-url must be an http or https base URL, e.g. https://komoju.com")
    if parts.username or parts.password:
        raise ValueError("--live-processor-url must not carry credentials: give the key in KOMOJU_LIVE_PROCESSOR_KEY")
    if not settings.live_processor_key:
        raise ValueError("--live-processor komoju needs the upstream's secret key in KOMOJU_LIVE_PROCESSOR_KEY")
    if settings.live_processor_reconcile_every < 0:
        raise ValueError("--live-processor-reconcile-every must be 0 (never) or a number of seconds")


def live_processor(settings: Settings) -> Processor | None:
    check_live_processor(settings)
    if settings.live_processor == KOMOJU:
        assert settings.live_processor_url and settings.live_processor_key  # checked above
        return KomojuProcessor(settings.live_processor_url, settings.live_processor_key)
    return None
