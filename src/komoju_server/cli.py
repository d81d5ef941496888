"""The command line: `komoju-server serve | migrate | merchants create|list|rotate-keys | trigger | openapi`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from komoju_server import __version__
from komoju_server.config import LOG_FORMATS, Settings
from komoju_server.console import configure_logging
from komoju_server.domain import clock
from komoju_server.domain.caller import Mode
from komoju_server.limits import LIMITS
from komoju_server.processors.live import LIVE_PROCESSORS, check_live_processor
from komoju_server.services import merchants
from komoju_server.store import Store, open_store, sqlite_path
from komoju_server.store.vault import LazyVault, VaultKeyError

T = TypeVar("T")

ROTATE_MODES: dict[str, tuple[Mode, ...]] = {"test": ("test",), "live": ("live",), "all": ("test", "live")}


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path.db (default sqlite:///komoju.db) or postgresql://...; env KOMOJU_DATABASE_URL",
    )


def _limit_options(serve: argparse.ArgumentParser) -> None:
    """One flag per limit of limits.py (sizes, shapes, timeouts, connections), env KOMOJU_NAME."""
    group = serve.add_argument_group("limits", "what one client may ask; see README, Running it in production")
    for limit in LIMITS:
        group.add_argument(
            limit.flag,
            dest="limit_" + limit.name,
            type=limit.kind,
            default=None,
            metavar="N",
            help=f"{limit.help} (default {limit.default:,}); env {limit.env}",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="komoju-server",
        description="A self-hostable, stateful implementation of the KOMOJU v1 payments API.",
        epilog="Run `komoju-server COMMAND --help` for a command's flags.",
    )
    parser.add_argument(
        "--version", action="version", version=f"komoju-server {__version__}", help="print the version and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the API server",
        description="Serve the KOMOJU v1 API (and the pages for people). The first line printed is "
        "`listening on http://HOST:PORT`; then the start banner, then one line per request and per "
        "webhook delivery attempt.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="the port to listen on (default 8080; 0: a free one)")
    _database_option(serve)
    serve.add_argument(
        "--secret-key", default=None, help="make sure a test merchant has this key; env KOMOJU_SECRET_KEY"
    )
    serve.add_argument("--publishable-key", default=None, help="its publishable key; env KOMOJU_PUBLISHABLE_KEY")
    serve.add_argument("--public-url", default=None, help="scheme and host for URLs the API hands out")
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only); each one logs")
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

    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="the console's lines: text for people (default) or json, one object per line; env KOMOJU_LOG_FORMAT",
    )
    serve.add_argument(
        "--quiet",
        action="store_true",
        default=None,
        help="print nothing but the first line (`listening on ...`); warnings and errors still go to "
        "stderr; env KOMOJU_QUIET=1",
    )
    _limit_options(serve)
    # Outbound policy and limits (README: Webhooks, The API, Running it in production).
    serve.add_argument(
        "--webhook-allow-private",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let webhooks go to loopback, private and link-local addresses (default: only while --host is a "
        "loopback address); env KOMOJU_WEBHOOK_ALLOW_PRIVATE=1|0",
    )
    serve.add_argument(
        "--rate-limit",
        default=None,
        metavar="N/s",
        help="requests per API key, per process, e.g. 50/s or 3000/m (default: none); env KOMOJU_RATE_LIMIT",
    )
    serve.add_argument(
        "--rate-limit-burst",
        type=int,
        default=None,
        help="requests a key may make at once above --rate-limit (default: one second's worth); "
        "env KOMOJU_RATE_LIMIT_BURST",
    )
    serve.add_argument(
        "--quota",
        default=None,
        metavar="N/d",
        help="requests per API key, per process, over a longer time, e.g. 100000/d (default: none); env KOMOJU_QUOTA",
    )
    serve.add_argument(
        "--auth-failure-limit",
        default=None,
        metavar="N/m",
        help="failed authentications per client address before it gets 429 (default 600/m; off: none); "
        "env KOMOJU_AUTH_FAILURE_LIMIT",
    )

    migrate = commands.add_parser(
        "migrate", help="apply pending schema migrations and exit", description="Apply pending schema migrations."
    )
    _database_option(migrate)

    merchant_cmd = commands.add_parser(
        "merchants",
        help="add, list and re-key merchants",
        description="Manage the database's merchants directly (no server needed). Test keys are kept sealed "
        "by the vault and can be listed again; live keys are shown only when made. With PostgreSQL, "
        "KOMOJU_VAULT_KEY must be set as for `serve`.",
    )
    merchant_sub = merchant_cmd.add_subparsers(dest="merchant_command", required=True, metavar="SUBCOMMAND")
    create = merchant_sub.add_parser(
        "create", help="add a merchant and print its keys", description="Add a merchant and print its four keys."
    )
    _database_option(create)
    create.add_argument("--name", default="merchant", help="the merchant's name (default: merchant)")
    create.add_argument("--json", action="store_true", help="print the id and keys as one JSON object")
    listing = merchant_sub.add_parser(
        "list",
        help="list merchants with their test keys",
        description="List the merchants, first made first: id, name, creation time, test secret and publishable keys.",
    )
    _database_option(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON list of objects")
    rotate = merchant_sub.add_parser(
        "rotate-keys",
        help="give a merchant new keys; the old ones stop working",
        description="Replace a merchant's keys with new random ones, printed once. The old keys are "
        f"deleted at once; a running server stops taking them within {merchants.KEY_CACHE_SECONDS:g} "
        "second (every process of it).",
    )
    rotate.add_argument("merchant", metavar="MERCHANT", help="the merchant's id (see `merchants list`)")
    _database_option(rotate)
    rotate.add_argument(
        "--mode",
        choices=tuple(ROTATE_MODES),
        default="test",
        help="which key pair to replace: test (default), live, or all",
    )
    rotate.add_argument("--json", action="store_true", help="print the id and new keys as one JSON object")

    trigger = commands.add_parser(
        "trigger",
        help="play a realistic scenario through a running server's API",
        description="Play a scenario (a paid konbini slip, a refunded card payment, ...) through a running "
        "server's API over HTTP with a test secret key, as a merchant and its customer would, and print the "
        "ids of what it made. Webhooks, events and console lines follow as for real traffic. Some scenarios "
        "move the merchant's sandbox clock (see --list).",
    )
    trigger.add_argument("scenario", nargs="?", metavar="SCENARIO", help="the scenario's name (see --list)")
    trigger.add_argument("--list", action="store_true", help="name the scenarios and say what each does")
    trigger.add_argument(
        "--url",
        default=None,
        help="the running server (default http://127.0.0.1:8080, or env KOMOJU_URL); its /api/v1 may be given",
    )
    trigger.add_argument(
        "--secret-key", default=None, help="a test secret key of the merchant to play it as; env KOMOJU_SECRET_KEY"
    )
    trigger.add_argument("--json", action="store_true", help="print what it made as one JSON object")

    document = commands.add_parser(
        "openapi",
        help="print the API's OpenAPI 3.1 document",
        description="Print the OpenAPI 3.1 document of the API, the one GET /api/v1/openapi.json answers, "
        "generated from the server's own tables (routes, payment methods, errors). No server or database needed.",
    )
    document.add_argument(
        "--compact", action="store_true", help="one line, byte for byte what the endpoint answers (default: indented)"
    )
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
        "log_format",
        "quiet",
        "webhook_allow_private",
        "rate_limit",
        "rate_limit_burst",
        "quota",
        "auth_failure_limit",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "maintenance", False):
        settings.maintenance = True
    changes = {limit.name: getattr(args, "limit_" + limit.name, None) for limit in LIMITS}
    settings.limits = settings.limits.replace(**{k: v for k, v in changes.items() if v is not None})
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "trigger":
        sys.exit(_trigger(args))
    if args.command == "openapi":
        _openapi(args)
        return
    settings = settings_from(args)
    configure_logging(settings)
    if args.command == "serve":
        from komoju_server.server import serve
        from komoju_server.services.throttle import limits_from
        from komoju_server.webhooks.worker import options_from

        if getattr(args, "live_processor_key", None):
            print(
                "warning: --live-processor-key shows in the process list; prefer KOMOJU_LIVE_PROCESSOR_KEY",
                file=sys.stderr,
            )
        try:
            options_from(settings)
            limits_from(settings)
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
        sys.exit(_merchants(args, settings))


async def _migrate(url: str) -> list[int]:
    return await open_store(url).migrate()


def _merchants(args: argparse.Namespace, settings: Settings) -> int:
    vault = LazyVault(settings.vault_key, sqlite_path(settings.database_url) if settings.is_sqlite else None)
    try:
        vault.load()
    except VaultKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.merchant_command == "create":
        created = _with_store(
            settings.database_url, lambda store: merchants.create_merchant(store, args.name, vault=vault)
        )
        if args.json:
            print(json.dumps(created.as_dict()))
        else:
            print_keys(created)
        return 0
    if args.merchant_command == "list":
        listed = _with_store(settings.database_url, lambda store: merchants.list_merchants(store, vault))
        if args.json:
            print(json.dumps([merchant.as_dict() for merchant in listed], indent=2))
        else:
            print_listed(listed)
        return 0
    modes = ROTATE_MODES[args.mode]
    try:
        rotated = _with_store(
            settings.database_url, lambda store: merchants.rotate_keys(store, args.merchant, modes, vault)
        )
    except merchants.UnknownMerchant:
        print(f"error: no merchant {args.merchant!r} here; see komoju-server merchants list", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rotated.as_dict()))
        return 0
    print(f"merchant {rotated.merchant_id}: new {' and '.join(modes)} keys; the old ones no longer work")
    print(f"(a running server stops taking them within {merchants.KEY_CACHE_SECONDS:g} second)")
    print_keys(rotated, header=False)
    if "live" in modes:
        print("the live keys are shown only now: keep them")
    return 0


def _with_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(url)
        await store.migrate()
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def print_keys(created: merchants.MerchantKeys, header: bool = True) -> None:
    if header:
        print(f"merchant {created.merchant_id}")
    for name, key in created.as_dict().items():
        if name != "merchant_id":
            print(f"  {name.replace('_', ' ')}: {key}")
    sys.stdout.flush()


def print_listed(listed: Sequence[merchants.MerchantListed]) -> None:
    if not listed:
        print("no merchants yet: komoju-server merchants create (or serve, which makes one)")
    for merchant in listed:
        print(f"merchant {merchant.merchant_id} ({merchant.name}), created {clock.iso(merchant.created_at)}")
        if merchant.test_secret_key is not None and merchant.test_publishable_key is not None:
            print(f"  test secret key: {merchant.test_secret_key}")
            print(f"  test publishable key: {merchant.test_publishable_key}")
        else:
            print(f"  test keys: {merchant.note}")
    sys.stdout.flush()


def _openapi(args: argparse.Namespace) -> None:
    from komoju_server.api import openapi

    if args.compact:
        sys.stdout.buffer.write(openapi.served() + b"\n")
    else:
        print(json.dumps(openapi.document(), indent=2, ensure_ascii=False))
    sys.stdout.flush()


def _trigger(args: argparse.Namespace) -> int:
    from komoju_server import trigger

    if args.list:
        print("\n".join(trigger.scenario_lines()))
        return 0
    if args.scenario not in trigger.SCENARIOS:
        named = "name a scenario" if not args.scenario else f"no scenario named {args.scenario!r}"
        print(f"error: {named}; komoju-server trigger --list names them", file=sys.stderr)
        return 2
    url = args.url or os.environ.get("KOMOJU_URL") or "http://127.0.0.1:8080"
    key = args.secret_key or os.environ.get("KOMOJU_SECRET_KEY")
    if not key:
        print("error: --secret-key (or env KOMOJU_SECRET_KEY) is needed: a test secret key", file=sys.stderr)
        return 2
    say = (lambda line: None) if args.json else (lambda line: print(line, flush=True))
    if not args.json:
        print(f"{args.scenario}: {trigger.SCENARIOS[args.scenario].summary}")
    try:
        played = trigger.play(args.scenario, url, key, say)
    except trigger.TriggerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(played.as_dict()))
    else:
        print("made:")
        for line in trigger.describe_played(played):
            print(f"  {line}")
        for mismatch in played.mismatches:
            print(f"unexpected: {mismatch}", file=sys.stderr)
    return 0 if played.ok else 1


if __name__ == "__main__":  # pragma: no cover
    main(os.sys.argv[1:])
