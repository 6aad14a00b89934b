"""Benchmark: ingest of already-fetched feed documents, against feedparser's parse alone of the
same documents, on SQLite and PostgreSQL.

    .venv/bin/python bench/watch_ingest.py [--sources 500] [--items 20] [--terms 1000]
        [--backends sqlite,postgres]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Issue 17: ingest (normalization, de-duplication, stories and 1,000 watchlist terms) at
≥ 2,000 items/s, as a ratio to feedparser's parse alone of the same documents. The documents are
watch_poll.py's (realistic French posts, and reprints of a shared pool of wire dispatches with
small edits, so that de-duplication and stories have work), `--sources` of them with `--items`
entries each; the watchlists are watch_matching.py's (200 lists over `--terms` terms).

Each document goes the watcher's own way once fetched, in one process: `polling.interpret` (the
byte cap, entity refusal, parsing, normalization, evidence), `claims.record` (the new items
stored, indexed for search, matched against the watchlists), and, as the watcher does, the
placement in stories of every PLACE_AFTER_ITEMS new items at once (`ingest_after_poll`). The
sources are claimed first, as a watcher would. The reference, feedparser.parse of every
document, runs in the same process and run. One pass per backend (an ingest is not repeatable
on the same base), on a fresh database each.

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from harness import backend_parser, db_version, log, main_over_backends
from watch_matching import make_terms, watchlist_queries
from watch_poll import feed_document

ROOT = Path(__file__).resolve().parent.parent
PG_DB = os.environ.get("BENCH_PG_DB", "bench_watch_ingest")


def main() -> None:
    parser = backend_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--terms", type=int, default=1000)
    args = parser.parse_args()
    worker_args = [
        *("--sources", str(args.sources)),
        *("--items", str(args.items)),
        *("--terms", str(args.terms)),
    ]
    main_over_backends(
        args,
        script=__file__,
        name="watch_ingest",
        pg_db=PG_DB,
        worker_args=worker_args,
        worker=worker,
        table=table,
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        "| backend | documents | items | terms | feedparser items/s | ingest items/s | ratio | "
        "interpret s | record s | stories s | stories | reprints | matches |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["backends"].values():
        lines.append(
            f"| {r['db']} | {r['documents']:,} | {r['items']:,} | {r['terms']:,} | "
            f"{r['feedparser_items_s']:,.0f} | **{r['ingest_items_s']:,.0f}** | "
            f"{r['ratio']:.2f} × | {r['interpret_s']:.1f} | {r['record_s']:.1f} | "
            f"{r['place_s']:.1f} | "
            f"{r['stories']:,} | {r['reprints']:,} | {r['matches']:,} |"
        )
    return "\n".join(lines)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    import feedparser
    from django.core.management import call_command
    from django.db.models import Sum
    from django.utils import timezone

    from essaim.lib.fetcher.result import FetchResult
    from essaim.watch.models import Item, Source, Story, Watchlist, WatchlistMatch
    from essaim.watch.services.polling import interpret
    from essaim.watch.services.stories import ingest_after_poll
    from essaim.watch.services.urls import url_key
    from essaim.watch.watcher import claims
    from essaim.watch.watcher.engine import PLACE_AFTER_ITEMS, options_from_settings

    call_command("migrate", verbosity=0)
    names, topics = make_terms(args.terms, random.Random(17))
    Watchlist.objects.bulk_create(
        Watchlist(name=f"Liste {n}", kind=kind, query=query)
        for n, (kind, query) in enumerate(watchlist_queries(names, topics, random.Random(17)))
    )
    urls = [f"http://site{n}.exemple.fr/feed/" for n in range(args.sources)]
    documents = [
        feed_document(n, items=args.items, wire_pool=max(args.sources // 4, 1), base=url[:-6])
        for n, url in enumerate(urls)
    ]
    due = timezone.now() - dt.timedelta(seconds=1)
    Source.objects.bulk_create(
        (Source(url=u, url_key=url_key(u), next_poll_at=due) for u in urls), batch_size=1000
    )
    log(f"{len(documents)} documents; feedparser alone")

    started = time.perf_counter()
    entries = sum(len(feedparser.parse(document).entries) for document in documents)
    parse_s = time.perf_counter() - started

    limits = options_from_settings().limits
    claimed = claims.claim(watcher_id="bench", limit=len(urls), lease_seconds=3600)
    bodies = dict(zip(urls, documents, strict=True))
    log(f"{len(claimed)} sources claimed; ingest")
    interpret_s = record_s = place_s = 0.0
    unplaced: list[int] = []
    count = 0

    def place() -> float:
        started = time.perf_counter()
        ingest_after_poll(unplaced)
        unplaced.clear()
        return time.perf_counter() - started

    for source in claimed:
        result = FetchResult(
            url=source.url,
            final_url=source.url,
            status=200,
            headers={"content-type": "application/rss+xml; charset=utf-8"},
            body=bodies[source.url],
        )
        started = time.perf_counter()
        outcome = interpret(source, result, fetched_at=timezone.now(), limits=limits)
        middle = time.perf_counter()
        new = claims.record(source, outcome, watcher_id="bench", limits=limits, place=False)
        interpret_s += middle - started
        record_s += time.perf_counter() - middle
        if new:
            unplaced.append(source.id)
            count += new
        if count >= PLACE_AFTER_ITEMS:
            place_s += place()
            count = 0
    place_s += place()
    ingest_s = interpret_s + record_s + place_s
    items = Item.objects.count()
    if Item.objects.filter(story__isnull=True).exists():
        raise SystemExit("some items were not placed in a story")
    log(
        f"ingest {ingest_s:.1f} s (interpret {interpret_s:.1f} s, record {record_s:.1f} s, "
        f"stories {place_s:.1f} s)"
    )
    return {
        "db": db_version(),
        "documents": len(documents),
        "feed_entries": entries,
        "items": items,
        "terms": len(names) + len(topics),
        "feedparser_s": parse_s,
        "feedparser_items_s": entries / parse_s,
        "interpret_s": interpret_s,
        "record_s": record_s,
        "place_s": place_s,
        "ingest_s": ingest_s,
        "ingest_items_s": items / ingest_s,
        "ratio": (items / ingest_s) / (entries / parse_s),
        "stories": Story.objects.count(),
        "reprints": Story.objects.aggregate(n=Sum("reprints_count"))["n"] or 0,
        "matches": WatchlistMatch.objects.count(),
    }


if __name__ == "__main__":
    main()
