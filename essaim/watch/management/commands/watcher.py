from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from essaim.watch.watcher.engine import Watcher, options_from_settings


class Command(BaseCommand):
    # A long-running daemon: `essaim check` belongs to deployment, not to each start.
    requires_system_checks: list[str] = []
    help = (
        "Run the watcher: claims the sources that are due, fetches them through the guarded "
        "fetcher and stores their new items. Run as many as you like, on as many machines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="poll every source due now, then exit"
        )
        parser.add_argument("--concurrency", type=int, help="fetches at once (WATCH_CONCURRENCY)")
        parser.add_argument("--batch", type=int, help="sources per claim (WATCH_CLAIM_BATCH)")
        parser.add_argument(
            "--host-gap", type=float, help="seconds between two requests to a host (WATCH_HOST_GAP)"
        )
        parser.add_argument("--stats", action="store_true", help="print counts as JSON at exit")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, Any] = {"once": options["once"]}
        for name, key in (("concurrency", "concurrency"), ("batch", "claim_batch")):
            if options[name] is not None:
                if options[name] < 1:
                    raise CommandError(f"--{name} must be at least 1")
                overrides[key] = options[name]
        if options["host_gap"] is not None:
            if options["host_gap"] < 0:
                raise CommandError("--host-gap may not be negative")
            overrides["host_gap"] = options["host_gap"]
        _raise_open_files_limit()
        stats = asyncio.run(Watcher(options_from_settings(**overrides)).run())
        if options["stats"]:
            self.stdout.write(json.dumps(stats.as_dict()))


def _raise_open_files_limit() -> None:
    """A watcher keeps connections to hundreds of hosts alive between their sources: the
    soft limit of open files (1,024 under many service managers) goes up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
