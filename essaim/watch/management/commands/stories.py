"""`essaim stories`: place items in stories — those still pending (the catch-up the scheduler
also runs), or the given ids — and optionally prune old MinHash bands."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from essaim.watch.services.stories import ingest_items, ingest_pending, prune_bands


class Command(BaseCommand):
    help = "Place pending items (or --ids) in stories; --prune deletes bands past the window."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ids", default="", help="Comma-separated item ids.")
        parser.add_argument("--prune", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        out: dict[str, int] = {}
        if options["ids"]:
            try:
                ids = [int(part) for part in options["ids"].split(",") if part.strip()]
            except ValueError as exc:
                raise CommandError("--ids takes item ids separated by commas") from exc
            out["placed"] = len(ingest_items(ids))
        else:
            out["looked_at"] = ingest_pending()
        if options["prune"]:
            out["bands_pruned"] = prune_bands()
        self.stdout.write(json.dumps(out))
