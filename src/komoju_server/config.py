"""Server settings, from the command line or the environment (command line wins)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from komoju_server.limits import LIMITS, Limits
from komoju_server.webhooks.policy import is_loopback_host

LOG_FORMATS = ("text", "json")
_YES = ("1", "true", "yes")
_NO = ("0", "false", "no")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///komoju.db"
    secret_key: str | None = None
    publishable_key: str | None = None
    public_url: str | None = None
    maintenance: bool = False
    workers: int = 1
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_retry_schedule: str | None = None  # e.g. "30s,2m,10m"; None: the default (webhooks/schedule.py)
    webhook_retry_jitter: float | None = None
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 16
    vault_key: str | None = None
    # Processor intents (see services/payments.py): how long a claimed call is its caller's
    # before recovery asks again (longer than any processor's timeout), and how often
    # recovery looks. Settings for tests and operators, from the environment only.
    intent_lease: int = 60
    intent_recovery_every: float = 5.0
    # The live processor (`processors/live.py`): none, or "komoju" with its upstream's settings.
    live_processor: str | None = None
    live_processor_url: str | None = None
    live_processor_key: str | None = None  # the upstream's secret key: best given in the environment
    live_processor_webhook_secret: str | None = None
    live_processor_reconcile_every: float = 60.0  # seconds; 0 turns reconcile off
    # The console (console.py): one line per request and per webhook attempt, as text or JSON;
    # quiet prints nothing but the first `listening on` line.
    log_format: str = "text"
    quiet: bool = False
    # What one client may ask (limits.py): sizes, shapes, timeouts, the connection cap.
    limits: Limits = field(default_factory=Limits)
    # Outbound policy and limits (webhooks/policy.py, api/limits.py). webhook_allow_private:
    # None means "only while listening on loopback". Limits are "N/s|m|h|d" (None: off).
    webhook_allow_private: bool | None = None
    rate_limit: str | None = None  # per API key, per process: a token bucket's refill
    rate_limit_burst: int | None = None  # its size; None: one second's worth (at least 1)
    quota: str | None = None  # per API key, per process: e.g. 100000/d
    auth_failure_limit: str | None = "600/m"  # failed authentications per client address

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        settings = cls()
        settings.database_url = env.get("KOMOJU_DATABASE_URL") or settings.database_url
        settings.secret_key = env.get("KOMOJU_SECRET_KEY") or None
        settings.publishable_key = env.get("KOMOJU_PUBLISHABLE_KEY") or None
        settings.public_url = env.get("KOMOJU_PUBLIC_URL") or None
        settings.maintenance = env.get("KOMOJU_MAINTENANCE", "") in ("1", "true", "yes")
        settings.webhook_url = env.get("KOMOJU_WEBHOOK_URL") or None
        settings.webhook_secret = env.get("KOMOJU_WEBHOOK_SECRET") or None
        settings.webhook_retry_schedule = env.get("KOMOJU_WEBHOOK_RETRY_SCHEDULE") or None
        jitter = _number(env, "KOMOJU_WEBHOOK_RETRY_JITTER", float)
        settings.webhook_retry_jitter = None if jitter is None else float(jitter)
        settings.webhook_timeout = float(_number(env, "KOMOJU_WEBHOOK_TIMEOUT", float) or settings.webhook_timeout)
        settings.webhook_concurrency = int(
            _number(env, "KOMOJU_WEBHOOK_CONCURRENCY", int) or settings.webhook_concurrency
        )
        settings.vault_key = env.get("KOMOJU_VAULT_KEY") or None
        settings.intent_lease = int(_number(env, "KOMOJU_INTENT_LEASE", int) or settings.intent_lease)
        every = _number(env, "KOMOJU_INTENT_RECOVERY_EVERY", float)
        settings.intent_recovery_every = float(every or settings.intent_recovery_every)
        settings.live_processor = env.get("KOMOJU_LIVE_PROCESSOR") or None
        settings.live_processor_url = env.get("KOMOJU_LIVE_PROCESSOR_URL") or None
        settings.live_processor_key = env.get("KOMOJU_LIVE_PROCESSOR_KEY") or None
        settings.live_processor_webhook_secret = env.get("KOMOJU_LIVE_PROCESSOR_WEBHOOK_SECRET") or None
        every = _number(env, "KOMOJU_LIVE_PROCESSOR_RECONCILE_EVERY", float)
        if every is not None:
            settings.live_processor_reconcile_every = float(every)
        settings.log_format = env.get("KOMOJU_LOG_FORMAT") or settings.log_format
        if settings.log_format not in LOG_FORMATS:
            choices = ", ".join(LOG_FORMATS)
            raise SystemExit(f"error: KOMOJU_LOG_FORMAT must be one of {choices}, not {settings.log_format!r}")
        settings.quiet = env.get("KOMOJU_QUIET", "") in ("1", "true", "yes")
        settings.limits = _limits(env)
        allow = env.get("KOMOJU_WEBHOOK_ALLOW_PRIVATE", "")
        if allow:
            if allow not in _YES + _NO:
                raise SystemExit(f"error: KOMOJU_WEBHOOK_ALLOW_PRIVATE must be 1 or 0, not {allow!r}")
            settings.webhook_allow_private = allow in _YES
        settings.rate_limit = env.get("KOMOJU_RATE_LIMIT") or None
        burst = _number(env, "KOMOJU_RATE_LIMIT_BURST", int)
        settings.rate_limit_burst = None if burst is None else int(burst)
        settings.quota = env.get("KOMOJU_QUOTA") or None
        settings.auth_failure_limit = env.get("KOMOJU_AUTH_FAILURE_LIMIT") or settings.auth_failure_limit
        return settings

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` give these settings back (for worker processes)."""
        pairs = {
            "KOMOJU_DATABASE_URL": self.database_url,
            "KOMOJU_SECRET_KEY": self.secret_key,
            "KOMOJU_PUBLISHABLE_KEY": self.publishable_key,
            "KOMOJU_PUBLIC_URL": self.public_url,
            "KOMOJU_MAINTENANCE": "1" if self.maintenance else None,
            "KOMOJU_WEBHOOK_URL": self.webhook_url,
            "KOMOJU_WEBHOOK_SECRET": self.webhook_secret,
            "KOMOJU_WEBHOOK_RETRY_SCHEDULE": self.webhook_retry_schedule,
            "KOMOJU_WEBHOOK_RETRY_JITTER": _text(self.webhook_retry_jitter),
            "KOMOJU_WEBHOOK_TIMEOUT": _text(self.webhook_timeout),
            "KOMOJU_WEBHOOK_CONCURRENCY": str(self.webhook_concurrency),
            "KOMOJU_VAULT_KEY": self.vault_key,
            "KOMOJU_INTENT_LEASE": str(self.intent_lease),
            "KOMOJU_INTENT_RECOVERY_EVERY": _text(self.intent_recovery_every),
            "KOMOJU_LIVE_PROCESSOR": self.live_processor,
            "KOMOJU_LIVE_PROCESSOR_URL": self.live_processor_url,
            "KOMOJU_LIVE_PROCESSOR_KEY": self.live_processor_key,
            "KOMOJU_LIVE_PROCESSOR_WEBHOOK_SECRET": self.live_processor_webhook_secret,
            "KOMOJU_LIVE_PROCESSOR_RECONCILE_EVERY": repr(self.live_processor_reconcile_every),
            "KOMOJU_LOG_FORMAT": self.log_format,
            "KOMOJU_QUIET": "1" if self.quiet else None,
            # Decided here, from --host, which worker processes are not given.
            "KOMOJU_WEBHOOK_ALLOW_PRIVATE": "1" if self.allows_private_webhooks else "0",
            "KOMOJU_RATE_LIMIT": self.rate_limit,
            "KOMOJU_RATE_LIMIT_BURST": None if self.rate_limit_burst is None else str(self.rate_limit_burst),
            "KOMOJU_QUOTA": self.quota,
            "KOMOJU_AUTH_FAILURE_LIMIT": self.auth_failure_limit,
        }
        pairs.update({limit.env: repr(getattr(self.limits, limit.name)) for limit in LIMITS})
        return {k: v for k, v in pairs.items() if v}

    @property
    def allows_private_webhooks(self) -> bool:
        """The outbound policy's switch: as set, else on only while the server listens on loopback."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return is_loopback_host(self.host)

    @property
    def is_sqlite(self) -> bool:
        return not self.database_url.startswith(("postgresql://", "postgres://"))


def _number(env: dict[str, str], name: str, kind: type[int] | type[float]) -> int | float | None:
    text = env.get(name)
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise SystemExit(f"error: {name} must be a number, not {text!r}") from None


def _limits(env: dict[str, str]) -> Limits:
    changes = {}
    for limit in LIMITS:
        value = _number(env, limit.env, limit.kind)
        if value is not None:
            changes[limit.name] = value
    return Limits().replace(**changes)


def _text(value: float | None) -> str | None:
    return None if value is None else repr(value)
