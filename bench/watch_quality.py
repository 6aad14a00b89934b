"""Benchmark: the quality of the watch's de-duplication and stories on a labelled set.

    .venv/bin/python bench/watch_quality.py [--backends sqlite,postgres] [--batch 20]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres] [--pg-db h17stories]

The set is bench/data/watch_quality.json (built by bench/data/make_watch_quality_set.py): 309
French items, each labelled with the event it reports and the text it copies. The items are
stored under their sites' sources and placed by essaim.watch.services.stories.ingest_items in
the order they were published, `--batch` at a time (as polls bring them), on a fresh database
per backend with the default thresholds (WATCH_MERGE_AUTO, WATCH_MERGE_SUGGEST,
WATCH_MERGE_MIN_WORDS, WATCH_STORY_WINDOW_DAYS, unless set in the environment).

Measured over pairs of items:
- automatic merges: precision = pairs in one story that report one event / pairs in one story;
  recall of copies = pairs of copies of one text placed in one story / pairs of copies; recall
  of events = pairs of one event in one story / pairs of one event (own coverage, in other
  words, is left to people: suggestions);
- suggestions: precision = suggestions whose item reports the event of the story suggested /
  suggestions; and the recall of events once a person accepts the right suggestions.
- reprints: wire or copy flags against the set (an item that is not its text's first is a copy;
  own coverage is original).

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

DATA = Path(__file__).resolve().parent / "data" / "watch_quality.json"


def worker(batch: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from essaim.watch.models import Item, MergeSuggestion, Source
    from essaim.watch.services.feeds import content_hash
    from essaim.watch.services.stories import ingest_items
    from essaim.watch.services.urls import url_key

    rows = json.loads(DATA.read_text(encoding="utf-8"))
    sources = {}
    for name in sorted({r["source"] for r in rows}):
        feed = f"https://www.{name}/rss.xml"
        sources[name] = Source.objects.create(url=feed, url_key=url_key(feed), title=name)
    items = Item.objects.bulk_create(
        [
            Item(
                source=sources[r["source"]],
                url=r["url"],
                url_key=url_key(r["url"]),
                title=r["title"],
                summary=r["summary"],
                published_at=dt.datetime.fromisoformat(r["published_at"]),
                fetched_at=dt.datetime.fromisoformat(r["published_at"]) + dt.timedelta(minutes=2),
                content_hash=content_hash(r["title"], r["summary"]),
            )
            for r in rows
        ]
    )
    label = {item.pk: row for item, row in zip(items, rows, strict=True)}
    order = sorted(label, key=lambda pk: (label[pk]["published_at"], pk))
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        ingest_items(order[start : start + batch])
    elapsed = time.perf_counter() - started

    story = dict(Item.objects.values_list("pk", "story_id"))
    flags = {pk: (wire, reprint) for pk, wire, reprint in Item.objects.values_list(
        "pk", "is_wire", "is_reprint")}  # fmt: skip
    suggestions = list(MergeSuggestion.objects.values_list("item_id", "story_id"))
    members: dict[int, list[int]] = defaultdict(list)
    for pk, story_id in story.items():
        members[story_id].append(pk)

    def pairs(group: dict[int, Any]) -> set[tuple[int, int]]:
        by: dict[Any, list[int]] = defaultdict(list)
        for pk, key in group.items():
            by[key].append(pk)
        return {p for pks in by.values() for p in itertools.combinations(sorted(pks), 2)}

    event_pairs = pairs({pk: r["event"] for pk, r in label.items()})
    copy_pairs = pairs({pk: r["text"] for pk, r in label.items()})
    story_pairs = pairs(story)
    true_merges = story_pairs & event_pairs

    # Suggestions: right when the item reports the event most items of the story report.
    def story_event(story_id: int) -> str:
        events = [label[pk]["event"] for pk in members[story_id]]
        return max(set(events), key=events.count)

    right = [(i, s) for i, s in suggestions if label[i]["event"] == story_event(s)]
    # Accepting the right suggestions joins stories: union-find over them.
    parent = {s: s for s in members}

    def find(s: int) -> int:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for item_id, story_id in right:
        parent[find(story[item_id])] = find(story_id)
    accepted_pairs = pairs({pk: find(s) for pk, s in story.items()})

    first_of_text: dict[str, int] = {}
    for pk in order:
        first_of_text.setdefault(label[pk]["text"], pk)
    copies = {pk for pk in label if first_of_text[label[pk]["text"]] != pk}
    own = {pk for pk in label if "-own" in label[pk]["text"]}
    reprint_flagged = {pk for pk, (wire, reprint) in flags.items() if reprint}
    wire_truth = {pk for pk in label if _credited(label[pk]["summary"])}

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    mixed = []
    for pks in members.values():
        events = sorted({label[pk]["event"] for pk in pks})
        if len(events) > 1:
            matches = dict(Item.objects.filter(pk__in=pks).values_list("pk", "match"))
            mixed.append(
                {e: sorted(matches[pk] for pk in pks if label[pk]["event"] == e) for e in events}
            )
    return {
        "mixed_stories": mixed,
        "db": harness.db_version(),
        "items": len(rows),
        "events": len({r["event"] for r in rows}),
        "stories": len(members),
        "thresholds": {
            "auto": settings.WATCH_MERGE_AUTO,
            "suggest": settings.WATCH_MERGE_SUGGEST,
            "min_words": settings.WATCH_MERGE_MIN_WORDS,
            "window_days": settings.WATCH_STORY_WINDOW_DAYS,
        },
        "batch": batch,
        "ingest_seconds": round(elapsed, 3),
        "auto_precision": ratio(len(true_merges), len(story_pairs)),
        "auto_recall_copies": ratio(len(story_pairs & copy_pairs), len(copy_pairs)),
        "auto_recall_events": ratio(len(true_merges), len(event_pairs)),
        "wrong_pairs": len(story_pairs - event_pairs),
        "suggestions": len(suggestions),
        "suggestion_precision": ratio(len(right), len(suggestions)),
        "recall_events_after_right_suggestions": ratio(
            len(accepted_pairs & event_pairs), len(event_pairs)
        ),
        "reprint_precision": ratio(
            len(reprint_flagged & (copies | wire_truth)), len(reprint_flagged)
        ),
        "reprint_recall": ratio(len(reprint_flagged & copies), len(copies)),
        "own_coverage_flagged_original": ratio(len(own - reprint_flagged), len(own)),
        "wire_detected": ratio(
            len({pk for pk, (w, _r) in flags.items() if w} & wire_truth), len(wire_truth)
        ),
    }


def _credited(text: str) -> bool:
    return any(m in text for m in ("(AFP)", "(avec AFP)", "© AFP", "Source : AFP", "(Reuters)",
                                   "(avec Reuters)", "© Reuters", "Source : Reuters"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="h17stories")
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.batch)))
        return
    results: dict[str, Any] = {"machine": harness.machine(), "backends": {}}
    pg_url = harness.pg_url_for(args.pg_admin_url, args.pg_db)
    harness.run_backends(
        results,
        args.backends,
        pg_admin_url=args.pg_admin_url,
        pg_db=args.pg_db,
        run_worker=lambda backend, tmp: harness.worker_process(
            __file__, backend, tmp, pg_url, ["--batch", str(args.batch)]
        ),
    )
    keys = [
        "db", "items", "events", "stories", "auto_precision", "auto_recall_copies",
        "auto_recall_events", "wrong_pairs", "suggestions", "suggestion_precision",
        "recall_events_after_right_suggestions", "reprint_precision", "reprint_recall",
        "own_coverage_flagged_original", "wire_detected", "ingest_seconds",
    ]  # fmt: skip
    backends = list(results["backends"])
    print("| measure | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in keys:
        values = [str(results["backends"][b].get(key)) for b in backends]
        print(f"| {key} | " + " | ".join(values) + " |")
    harness.save_json(Path(__file__).resolve().parent / "out", "watch_quality", results)


if __name__ == "__main__":
    main()
