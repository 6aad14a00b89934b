from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from essaim.mailing.sender.engine import Sender, SenderOptions
from essaim.mailing.sender.shaping import ShapingConfig, parse_group_values
from essaim.mailing.sender.smtp import RelayConfig


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (not on Windows): the sender spends most of its time in the event
    loop, and libuv's costs a fraction of asyncio's per message (docs/benchmarks.md)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


@contextlib.contextmanager
def _quiet_collector() -> Iterator[None]:
    """Fewer and smaller runs of the cyclic garbage collector while the sender runs: it allocates
    a few small objects per message, none of them in a cycle on the hot path. What the start made
    (Django, the settings, the URLconf: several hundred thousand objects) moves out of reach of
    full collections, and the youngest generation is collected every 100,000 allocations instead
    of 700, which saves the sender CPU per message (see docs/benchmarks.md, bulk sender) while
    memory stays flat (cycles still get collected). Undone afterwards, for a caller that goes on
    (the tests call the command in their own process)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 20, 100)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class Command(BaseCommand):
    # A long-running daemon: `essaim check` belongs to deployment, not to each start (the
    # checks import every URLconf, a noticeable cost at each start).
    requires_system_checks: list[str] = []
    help = (
        "Run the bulk mail sender: claims rows of the delivery ledger of every campaign being "
        "sent and delivers them to BULK_SMTP_URL. Run as many as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="exit when no campaign is left to send"
        )
        parser.add_argument(
            "--janitor-only",
            action="store_true",
            help="send nothing: settle expired claims, start scheduled campaigns, close done ones",
        )
        parser.add_argument("--campaign", type=int, action="append", help="serve only this id")
        parser.add_argument("--connections", type=int, default=settings.BULK_SMTP_CONNECTIONS)
        parser.add_argument("--per-provider", type=int, default=settings.BULK_SMTP_PER_PROVIDER)
        parser.add_argument(
            "--group-connections",
            default=settings.BULK_SMTP_GROUP_CONNECTIONS,
            help="connections per provider group, e.g. gmail=4,microsoft=4",
        )
        parser.add_argument(
            "--group-rates",
            default=settings.BULK_SMTP_GROUP_RATES,
            help="messages per second per provider group, e.g. gmail=50,orange=20",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=settings.BULK_SMTP_RATE,
            help="messages per second for the whole relay account (0: no cap)",
        )
        parser.add_argument("--max-claimed", type=int, default=settings.MAILING_MAX_CLAIMED)
        parser.add_argument("--lease", type=float, default=settings.MAILING_LEASE_SECONDS)
        parser.add_argument(
            "--flush-every",
            type=int,
            default=SenderOptions.flush_every,
            help="outcomes written per statement (also every 0.1 s); they count as held rows",
        )
        parser.add_argument(
            "--retry-base", type=float, default=60.0, help="seconds before the first retry"
        )
        parser.add_argument("--stats", action="store_true", help="print counts as JSON at exit")

    def handle(self, *args: Any, **options: Any) -> None:
        relay = RelayConfig.from_url(
            settings.BULK_SMTP_URL,
            helo=settings.BULK_SMTP_HELO,
            timeout=settings.BULK_SMTP_TIMEOUT,
        )
        max_claimed = max(10, options["max_claimed"])
        try:
            connections = parse_group_values(options["group_connections"], integer=True)
            rates = parse_group_values(options["group_rates"])
        except ValueError as exc:
            raise CommandError(f"BULK_SMTP_GROUP_*: {exc}") from exc
        if options["rate"] < 0 or settings.BULK_SMTP_RATE_FLOOR <= 0:
            raise CommandError("rates must be positive (BULK_SMTP_RATE: 0 means no cap)")
        shaping = ShapingConfig(
            connections={g: int(n) for g, n in connections.items()},
            per_provider=options["per_provider"],
            rates=rates,
            global_rate=options["rate"],
            floor=settings.BULK_SMTP_RATE_FLOOR,
            increase=max(0.0, settings.BULK_SMTP_RATE_RECOVERY),
        )
        opts = SenderOptions(
            connections=options["connections"],
            per_provider=options["per_provider"],
            max_claimed=max_claimed,
            # Two batches in hand: the next one is claimed while the current one is sent. A
            # claim has a fixed cost on the server whatever its size, so fewer, larger claims are
            # cheaper (see docs/benchmarks.md, bulk sender).
            claim_batch=max(10, max_claimed // 2),
            lease_seconds=options["lease"],
            flush_every=max(1, options["flush_every"]),
            retry_base=options["retry_base"],
            once=options["once"],
            sending=not options["janitor_only"],
            campaign_ids=frozenset(options["campaign"]) if options["campaign"] else None,
            shaping=shaping,
        )
        with _quiet_collector():
            stats = asyncio.run(Sender(relay, opts).run(), loop_factory=_loop_factory())
        if options["stats"]:
            self.stdout.write(json.dumps(stats.as_dict()))
