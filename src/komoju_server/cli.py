"""The command line: `komoju-server serve | migrate | merchants create`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence

from komoju_server.config import Settings
from komoju_server.processors.live import LIVE_PROCESSORS, check_live_processor
from komoju_server.services import merchants
from komoju_server.store import open_store


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path.db (default sqlite:///komoju.db) or postgresql://...; env KOMOJU_DATABASE_URL",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="komoju-server", description="A self-hostable KOMOJU v1 API server.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    _database_option(serve)
    serve.add_argument(
        "--secret-key", default=None, help="make sure a test merchant has this key; env KOMOJU_SECRET_KEY"
    )
    serve.add_argument("--publishable-key", default=None, help="its publishable key; env KOMOJU_PUBLISHABLE_KEY")
    serve.add_argument("--public-url", default=None, help="scheme and host for URLs the API hands out")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only)")
    serve.add_argument("--maintenance", action="store_true", help="answer every API call 503 service_unavailable")
    serve.add_argument("--webhook-url", default=None, help="send every event to this URL")
    serve.add_argument(
        "--webhook-secret", default=None, help="signs deliveries to --webhook-url and to payments' own webhooks URLs"
    )
    serve.add_argument(
        "--webhook-retry-schedule",
        default=None,
        help="waits between delivery attempts, e.g. 30s,2m,10m,1h, or none "
        "(default 1m doubling to 8h, 11 retries, about a day); env KOMOJU_WEBHOOK_RETRY_SCHEDULE",
    )
    serve.add_argument(
        "--webhook-retry-jitter",
        type=float,
        default=None,
        help="each wait varies at random by up to this fraction (default 0.2); env KOMOJU_WEBHOOK_RETRY_JITTER",
    )
    serve.add_argument(
        "--webhook-timeout", type=float, default=None, help="seconds a delivery attempt may take (default 10)"
    )
    serve.add_argument(
        "--webhook-concurrency", type=int, default=None, help="delivery attempts under way at once (default 16)"
    )
    serve.add_argument(
        "--live-processor",
        choices=LIVE_PROCESSORS,
        default=None,
        help="the processor live-mode payments go through (default: none, live payments are refused); "
        "env KOMOJU_LIVE_PROCESSOR",
    )
    serve.add_argument(
        "--live-processor-url",
        default=None,
        help="the upstream KOMOJU API's base URL, e.g. https://komoju.com; env KOMOJU_LIVE_PROCESSOR_URL",
    )
    serve.add_argument(
        "--live-processor-key",
        default=None,
        help="the upstream's secret key; prefer env KOMOJU_LIVE_PROCESSOR_KEY (a flag shows in ps)",
    )
    serve.add_argument(
        "--live-processor-webhook-secret",
        default=None,
        help="the secret the upstream signs its webhooks to /processors/komoju/webhooks with; "
        "env KOMOJU_LIVE_PROCESSOR_WEBHOOK_SECRET",
    )
    serve.add_argument(
        "--live-processor-reconcile-every",
        type=float,
        default=None,
        help="seconds between asking the upstream about every open live payment (default 60; 0: never); "
        "env KOMOJU_LIVE_PROCESSOR_RECONCILE_EVERY",
    )

    migrate = commands.add_parser("migrate", help="apply pending schema migrations and exit")
    _database_option(migrate)

    merchant_cmd = commands.add_parser("merchants", help="manage merchants")
    merchant_sub = merchant_cmd.add_subparsers(dest="merchant_command", required=True)
    create = merchant_sub.add_parser("create", help="add a merchant and print its keys")
    _database_option(create)
    create.add_argument("--name", default="merchant")
    create.add_argument("--json", action="store_true", help="print the keys as JSON")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if args.database_url:
        settings.database_url = args.database_url
    for name in (
        "host",
        "port",
        "secret_key",
        "publishable_key",
        "public_url",
        "workers",
        "webhook_url",
        "webhook_secret",
        "webhook_retry_schedule",
        "webhook_retry_jitter",
        "webhook_timeout",
        "webhook_concurrency",
        "live_processor",
        "live_processor_url",
        "live_processor_key",
        "live_processor_webhook_secret",
        "live_processor_reconcile_every",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "maintenance", False):
        settings.maintenance = True
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = settings_from(args)
    if args.command == "serve":
        from komoju_server.server import serve
        from komoju_server.webhooks.worker import options_from

        if getattr(args, "live_processor_key", None):
            print(
                "warning: --live-processor-key shows in the process list; prefer KOMOJU_LIVE_PROCESSOR_KEY",
                file=sys.stderr,
            )
        try:
            options_from(settings)
            check_live_processor(settings)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

        sys.exit(serve(settings))
    if args.command == "migrate":
        applied = asyncio.run(_migrate(settings.database_url))
        print(f"applied migrations: {applied}" if applied else "database is up to date")
        return
    if args.command == "merchants":
        created = asyncio.run(_create_merchant(settings.database_url, args.name))
        if args.json:
            print(json.dumps(created.as_dict()))
        else:
            print_keys(created)


async def _migrate(url: str) -> list[int]:
    return await open_store(url).migrate()


async def _create_merchant(url: str, name: str) -> merchants.MerchantKeys:
    store = open_store(url)
    await store.migrate()
    await store.open()
    try:
        return await merchants.create_merchant(store, name)
    finally:
        await store.close()


def print_keys(created: merchants.MerchantKeys) -> None:
    print(f"merchant {created.merchant_id}")
    for name, key in created.as_dict().items():
        if name != "merchant_id":
            print(f"  {name.replace('_', ' ')}: {key}")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main(os.sys.argv[1:])
