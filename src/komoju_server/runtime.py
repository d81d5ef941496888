"""Everything a running server holds: settings, the store, and the services built on it."""

from __future__ import annotations

import logging

from komoju_server.config import Settings
from komoju_server.console import Console
from komoju_server.processors import Processors
from komoju_server.processors.base import observable, tokenizer
from komoju_server.processors.live import live_processor
from komoju_server.services.clock import ONE_PROCESS_TTL, Clock
from komoju_server.services.customers import Customers
from komoju_server.services.dashboard_sessions import DashboardSessions
from komoju_server.services.deadlines import DEADLINE_TIMER, Deadlines
from komoju_server.services.events import Events
from komoju_server.services.idempotency import Idempotency
from komoju_server.services.merchants import KeyRing
from komoju_server.services.outbox import Outbox
from komoju_server.services.payment_answers import PaymentAnswers
from komoju_server.services.payment_pages import PaymentPages
from komoju_server.services.payments import Payments
from komoju_server.services.recent_requests import RecentRequests
from komoju_server.services.sandbox import Sandbox
from komoju_server.services.scheduler import Scheduler
from komoju_server.services.secure_tokens import SecureTokens
from komoju_server.services.sessions import EXPIRY_TIMER, Sessions
from komoju_server.services.sources import StoredDetails
from komoju_server.services.subscriptions import CHARGE_TIMER, Subscriptions
from komoju_server.services.throttle import Throttle, limits_from
from komoju_server.services.tokens import Tokens
from komoju_server.services.upstream import UpstreamPayments
from komoju_server.services.webhooks import Webhooks
from komoju_server.store import Store, open_store, sqlite_path
from komoju_server.store import webhooks as webhooks_table
from komoju_server.store.vault import LazyVault, VaultKeyError
from komoju_server.webhooks.worker import Worker, options_from

log = logging.getLogger("komoju_server")


class Runtime:
    def __init__(self, settings: Settings, store: Store, console: Console | None = None) -> None:
        self.settings = settings
        self.store = store
        # What the process prints while it serves (console.py); nothing unless `serve` gives one.
        self.console = console or Console()
        self.maintenance = settings.maintenance
        self.keyring = KeyRing(store)
        # Rate limits, quotas and failed authentications (API and dashboard sign-in), per process.
        self.throttle = Throttle(limits_from(settings))
        self.clock = (
            Clock(store, cache_seconds=ONE_PROCESS_TTL)
            if settings.is_sqlite
            else Clock(store, cache_seconds=0.0, shared=True)  # other processes and hosts move it too
        )
        self.vault = LazyVault(settings.vault_key, sqlite_path(settings.database_url) if settings.is_sqlite else None)
        # Every event's webhook deliveries are written with it (an outbox); the worker sends
        # them, woken by the store once deliveries commit, then the events the outbox fans out.
        self.deliveries = Worker(store, self.vault, options_from(settings), report=self.console.delivery)
        self.outbox = Outbox(store, settings.webhook_url)
        store.listeners.add(webhooks_table.DELIVERIES, self.deliveries.poke)  # once they commit
        self.events = Events(store, fanout=self.outbox.fanout)
        self.processors = Processors(live=live_processor(settings))
        self.tokens = Tokens(store, self.clock, self.vault, tokenizer(self.processors.for_mode("live")))
        self.customers = Customers(store, self.clock, self.events, self.vault, self.tokens)
        # 3-D Secure: the sandbox's test catalogue decides how each card authenticates.
        self.secure_tokens = SecureTokens(
            store, self.clock, self.vault, self.tokens, self.customers, self.processors.sandbox
        )
        self.payment_answers = PaymentAnswers(store)  # GET /payments and /payments/:id
        self.payments = Payments(
            store,
            self.processors,
            self.clock,
            self.events,
            StoredDetails(self.tokens, self.customers, self.secure_tokens),
            self.vault,
            settings.intent_lease,
        )
        # A remote live processor's changes (webhooks, reconcile) reach our payments through this.
        reporter = observable(self.processors.for_mode("live"))
        self.upstream = (
            UpstreamPayments(
                store,
                reporter,
                self.payments,
                settings.live_processor_webhook_secret,
                settings.live_processor_reconcile_every,
            )
            if reporter is not None
            else None
        )
        self.webhooks = Webhooks(
            store, self.clock, self.events, self.vault, self.outbox, settings.allows_private_webhooks
        )
        # Deadlines, recurring charges and housekeeping, each when its time comes.
        self.scheduler = Scheduler(store)
        self.idempotency = Idempotency(store, self.clock, self.vault)
        self.scheduler.chore(self.idempotency.purge)
        # Processor calls whose caller died or lost the answer are asked again with their key.
        self.scheduler.chore(self.payments.recover, every=settings.intent_recovery_every)
        self.deadlines = Deadlines(self.payments, on_expired=self.console.expired)
        self.scheduler.handle(DEADLINE_TIMER, self.deadlines.expire_due)
        self.subscriptions = Subscriptions(
            store, self.clock, self.payments, self.customers, self.events, self.scheduler, settings.public_url or ""
        )
        self.scheduler.handle(CHARGE_TIMER, self.subscriptions.charge_due)
        self.sandbox = Sandbox(store, self.clock, self.payments, self.scheduler)
        # Sessions (the hosted payment page's): their payments and customers, and their expiry.
        self.sessions = Sessions(store, self.clock, self.payments, self.customers, self.secure_tokens, self.scheduler)
        self.scheduler.handle(EXPIRY_TIMER, self.sessions.expire_due)
        # The customer's pages about one payment (instructions, offsite) read and act through it.
        self.payment_pages = PaymentPages(store, self.payments, self.sandbox)
        self.scheduler.chore(self.tokens.forget_expired)
        self.scheduler.chore(self.secure_tokens.forget_expired)
        # The dashboard: who is signed in, and the merchants' recent API requests.
        self.dashboard_sessions = DashboardSessions(store, self.keyring)
        self.scheduler.chore(self.dashboard_sessions.purge)
        self.recent_requests = RecentRequests(store)

    @classmethod
    def build(cls, settings: Settings, console: Console | None = None) -> Runtime:
        runtime = cls(settings, open_store(settings.database_url), console)
        try:
            runtime.vault.load()  # a missing or bad vault key stops the server before it serves
        except VaultKeyError as exc:
            raise SystemExit(f"error: {exc}") from None
        return runtime

    async def start(self) -> None:
        self.vault.load()
        await self.store.migrate()
        await self.store.open()
        await self.tokens.check_vault()
        await self.customers.check_vault()
        await self.secure_tokens.check_vault()
        await self.outbox.start()
        await self.deliveries.start()
        await self.scheduler.start()
        await self.recent_requests.start()
        if self.upstream is not None:
            await self.upstream.start()

    async def stop(self) -> None:
        if self.upstream is not None:
            await self.upstream.stop()
        await self.recent_requests.stop()
        await self.scheduler.stop()
        await self.deliveries.stop()
        await self.store.close()
        close = getattr(self.processors.for_mode("live"), "aclose", None)
        if close is not None:
            await close()
        self.console.flush()
