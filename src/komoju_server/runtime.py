"""Everything a running server holds: settings, the store, and the services built on it."""

from __future__ import annotations

import logging

from komoju_server.config import Settings
from komoju_server.processors import Processors
from komoju_server.services.clock import Clock
from komoju_server.services.events import Events
from komoju_server.services.merchants import KeyRing
from komoju_server.services.payments import Payments
from komoju_server.store import Store, open_store

log = logging.getLogger("komoju_server")


class Runtime:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.maintenance = settings.maintenance
        self.keyring = KeyRing(store)
        self.clock = Clock(store)
        self.events = Events(store)
        self.processors = Processors(live=None)
        self.payments = Payments(store, self.processors, self.clock, self.events)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(settings, open_store(settings.database_url))

    async def start(self) -> None:
        await self.store.migrate()
        await self.store.open()

    async def stop(self) -> None:
        await self.store.close()
