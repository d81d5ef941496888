"""Server settings, from the command line or the environment (command line wins)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


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
    vault_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

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
        settings.vault_key = env.get("KOMOJU_VAULT_KEY") or None
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
            "KOMOJU_VAULT_KEY": self.vault_key,
        }
        return {k: v for k, v in pairs.items() if v}

    @property
    def is_sqlite(self) -> bool:
        return not self.database_url.startswith(("postgresql://", "postgres://"))
