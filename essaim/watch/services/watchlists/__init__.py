"""Watchlists: saved queries over the items, matched as items arrive and over recent ones when a
watchlist is created or edited.

`match_items(item_ids)` is the ingest path, set-based: one query for the items, one for their
sources, one bulk insert of the matches, however many items and watchlists. The automata of
the active watchlists are built once and kept in this process until a watchlist changes (the
cache is keyed on the count, the ids and the latest edit time of the active watchlists, read in
one aggregate query per call).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from essaim.lib.french import fast_fold, word_spans, words
from essaim.watch.models import Item, Source, Watchlist, WatchlistMatch
from essaim.watch.services.watchlists.matcher import (
    TOPICS,
    ItemText,
    Match,
    Matcher,
    pattern_words,
)
from essaim.watch.services.watchlists.query import Node, QueryError, parse, terms

if TYPE_CHECKING:
    from essaim.watch.services.polling import Outcome

__all__ = [
    "QueryError",
    "backfill",
    "items_stored",
    "match_items",
    "parse_query",
    "preview",
    "save_watchlist",
]

CHUNK = 1000
BACKFILL_DAYS = 30
PREVIEW_DAYS = 7
PREVIEW_LIMIT = 50
PREVIEW_SCAN = 20_000
# The task calls back into this module: enqueued by its dotted name, so that tasks import
# services and never the reverse.
BACKFILL_TASK = "essaim.watch.tasks.backfill_watchlist"


@lru_cache(maxsize=4096)
def parse_query(query: str) -> Node:
    """The tree of a stored query (cached: the same queries are parsed again and again)."""
    return parse(query)


# --- The matcher cache ---

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "matcher": None}


def _compile(watchlists: Iterable[tuple[int, str, str]]) -> Matcher:
    trees = []
    for watchlist_id, kind, query in watchlists:
        try:
            trees.append((watchlist_id, kind, parse_query(query)))
        except QueryError:
            continue  # saved through the form or the API, so valid; never stop the ingest
    return Matcher(trees)


def current_matcher() -> Matcher:
    """The automata of the active watchlists, rebuilt when one was created, edited, turned
    off or deleted."""
    active = Watchlist.objects.filter(active=True)
    key = tuple(active.aggregate(n=Count("id"), ids=Sum("id"), last=Max("updated_at")).values())
    with _cache_lock:
        if _cache["key"] != key:
            _cache["matcher"] = _compile(active.values_list("id", "kind", "query"))
            _cache["key"] = key
        matcher: Matcher = _cache["matcher"]
    return matcher


# --- Items as the matcher reads them ---


def host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower().removeprefix("www.")


def _source_labels(row: Any) -> frozenset[str]:
    values = (row["title"], row["camp"], row["party"], row["media_type"], row["zone"])
    return frozenset(" ".join(words(value)) for value in values if value)


def item_texts(items: Iterable[dict[str, Any]], *, hosts: bool = True) -> Iterator[ItemText]:
    """ItemText for rows of Item.values("id", "source_id", "url", "title", "summary"), their
    sources read in one query per batch; without `hosts` (no watchlist uses site:) the items'
    addresses are not parsed."""
    rows = list(items)
    sources = {
        row["id"]: row
        for row in Source.objects.filter(id__in={row["source_id"] for row in rows}).values(
            "id", "url", "site_url", "title", "camp", "party", "media_type", "zone"
        )
    }
    labels = {source_id: _source_labels(row) for source_id, row in sources.items()}
    for row in rows:
        host = ""
        if hosts:
            source = sources.get(row["source_id"])
            host = host_of(row["url"]) or (
                host_of(source["site_url"] or source["url"]) if source else ""
            )
        yield ItemText(
            id=row["id"],
            text=f"{row['title']}\n{row['summary']}",
            source_id=row["source_id"],
            host=host,
            source_labels=labels.get(row["source_id"], frozenset()),
        )


_ITEM_FIELDS = ("id", "source_id", "url", "title", "summary")


def _store(matches: Sequence[Match], now: dt.datetime) -> int:
    WatchlistMatch.objects.bulk_create(
        [
            WatchlistMatch(
                watchlist_id=match.watchlist_id,
                item_id=match.item_id,
                terms=match.terms,
                matched_at=now,
            )
            for match in matches
        ],
        batch_size=500,
        ignore_conflicts=True,  # an item matched again (a page that changed) keeps its first match
    )
    return len(matches)


def match_items(item_ids: Sequence[int], *, matcher: Matcher | None = None) -> int:
    """Match items against the active watchlists (or `matcher`) and record the matches.
    Returns the number of matches found (already recorded ones included)."""
    matcher = matcher if matcher is not None else current_matcher()
    if not len(matcher) or not item_ids:
        return 0
    now = timezone.now()
    total = 0
    ids = list(item_ids)
    for start in range(0, len(ids), CHUNK):
        rows = Item.objects.filter(id__in=ids[start : start + CHUNK]).values(*_ITEM_FIELDS)
        total += _store(matcher.match(item_texts(rows, hosts=matcher.uses_site)), now)
    return total


def items_stored(*, source_id: int, outcome: Outcome) -> None:
    """Called by the watcher once a poll's items are stored: index the new and changed items
    for search and match them against the watchlists."""
    from essaim.watch.services.search import index_items

    if not outcome.success:
        return
    page = outcome.page
    keys = [page.key] if page is not None else [item.key for item in outcome.items]
    if not keys:
        return
    ids = list(
        Item.objects.filter(
            source_id=source_id, url_key__in=keys, fetched_at=outcome.fetched_at
        ).values_list("id", flat=True)
    )
    if ids:
        index_items(ids)
        match_items(ids)


# --- Backfill and preview ---


def _recent(days: int, now: dt.datetime) -> Any:
    return Item.objects.filter(fetched_at__gte=now - dt.timedelta(days=days))


def backfill(watchlist_id: int, *, days: int = BACKFILL_DAYS) -> int:
    """Match one watchlist over the items of the last `days` days, after a creation, an edit
    of its query or its return from a pause. Its earlier matches among those items are replaced
    (the query may have changed); older ones stay as the record of what it matched then. A
    paused watchlist keeps its matches and is not matched. Returns the number of matches.

    The old matches go in one transaction and the new ones come a chunk at a time, each chunk
    its own transaction: on SQLite one long transaction would hold the only write lock, and the
    watchers, for the whole review."""
    watchlist = Watchlist.objects.filter(pk=watchlist_id).first()
    if watchlist is None:
        return 0
    now = timezone.now()
    recent = _recent(days, now)
    total = 0
    this = Watchlist.objects.filter(pk=watchlist_id)
    if watchlist.active:
        with transaction.atomic():
            WatchlistMatch.objects.filter(
                watchlist_id=watchlist_id, item__in=recent.values("id")
            ).delete()
            this.update(backfill_matches=0)
        matcher = _compile([(watchlist.pk, watchlist.kind, watchlist.query)])
        last_id = 0
        while True:  # keyset pages: no OFFSET over a large table
            rows = list(recent.filter(id__gt=last_id).order_by("id").values(*_ITEM_FIELDS)[:CHUNK])
            if not rows:
                break
            last_id = rows[-1]["id"]
            with transaction.atomic():
                found = _store(matcher.match(item_texts(rows, hosts=matcher.uses_site)), now)
                if found:
                    # The page polls this count while the review runs.
                    this.update(backfill_matches=F("backfill_matches") + found)
                total += found
        this.update(backfilled_at=timezone.now(), backfill_matches=total)
    else:
        this.update(backfilled_at=timezone.now())
    return total


@dataclass
class Preview:
    item: Item
    terms: list[str]
    # The title and summary as (text, highlighted) pieces, for the template to escape.
    title: list[tuple[str, bool]]
    summary: list[tuple[str, bool]]


@dataclass
class PreviewResult:
    previews: list[Preview]  # the newest matches, at most `limit`
    total: int  # items matched among those read
    scanned: int  # items read
    capped: bool  # True when the window held more than PREVIEW_SCAN items: the newest were read


def preview(
    *,
    kind: str,
    query: str,
    days: int = PREVIEW_DAYS,
    limit: int = PREVIEW_LIMIT,
    scan: int = PREVIEW_SCAN,
) -> PreviewResult:
    """What a query (not saved) would match in the last `days` days: the newest `limit`
    matched items with the found terms highlighted, and how many matched in all. At most the
    newest `scan` items are read, so that the test box answers in a request's time however busy
    the week was (the result says when it stopped short). QueryError for a bad query."""
    tree = parse(query)
    matcher = Matcher([(0, kind, tree)])
    recent = _recent(days, timezone.now())
    found: list[Match] = []
    scanned = 0
    before: int | None = None
    capped = False
    while True:  # newest first, keyset pages
        page = recent if before is None else recent.filter(id__lt=before)
        rows = list(page.order_by("-id").values(*_ITEM_FIELDS)[: min(CHUNK, scan - scanned)])
        if not rows:
            break
        before = rows[-1]["id"]
        scanned += len(rows)
        found.extend(matcher.match(item_texts(rows, hosts=matcher.uses_site)))
        if scanned >= scan:
            capped = recent.filter(id__lt=before).exists()
            break
    shown = sorted(found, key=lambda match: -match.item_id)[:limit]
    items = Item.objects.select_related("source").in_bulk([match.item_id for match in shown])
    highlight = _highlighter(kind, [term.words for term, negated in terms(tree) if not negated])
    previews = [
        Preview(
            item=items[match.item_id],
            terms=match.terms,
            title=highlight(items[match.item_id].title),
            summary=highlight(items[match.item_id].summary),
        )
        for match in shown
        if match.item_id in items
    ]
    return PreviewResult(previews, len(found), scanned, capped)


def _highlighter(kind: str, searched: list[tuple[str, ...]]) -> Any:
    from essaim.lib.french import stem

    patterns = {pattern_words_of(kind, term) for term in searched}
    longest = max((len(pattern) for pattern in patterns), default=0)

    def key(word: str) -> str:
        return stem(word) if kind == TOPICS else word

    def highlight(text: str) -> list[tuple[str, bool]]:
        spans = word_spans(text)
        keys = [key(word) for _start, _end, word in spans]
        marked = [False] * len(spans)
        for start in range(len(spans)):
            for length in range(1, longest + 1):
                if tuple(keys[start : start + length]) in patterns:
                    for index in range(start, start + length):
                        marked[index] = True
        pieces: list[tuple[str, bool]] = []
        cursor = 0
        for (start, end, _word), on in zip(spans, marked, strict=True):
            if not on:
                continue
            if start > cursor:
                pieces.append((text[cursor:start], False))
            pieces.append((text[start:end], True))
            cursor = end
        if cursor < len(text):
            pieces.append((text[cursor:], False))
        return pieces

    return highlight


def pattern_words_of(kind: str, term_words: tuple[str, ...]) -> tuple[str, ...]:
    from essaim.watch.services.watchlists.query import Term

    return pattern_words(Term(term_words, ""), kind)


# --- Writing watchlists ---


def save_watchlist(
    *,
    watchlist: Watchlist | None = None,
    name: str,
    kind: str,
    query: str,
    active: bool = True,
    labels: list[str] | None = None,
    by: Any = None,
) -> Watchlist:
    """Create or edit a watchlist (the query already checked by parse_query) and queue its
    backfill over recent items once committed."""
    now = timezone.now()
    with transaction.atomic():
        if watchlist is None:
            watchlist = Watchlist(created_by=by if getattr(by, "pk", None) else None)
        # What is matched changed: a new watchlist, a new query or kind, or a return from a
        # pause (a pause alone keeps the matches as they are).
        changed = watchlist.pk is None or (
            active and (watchlist.kind, watchlist.query, watchlist.active) != (kind, query, True)
        )
        watchlist.name = name
        watchlist.kind = kind
        watchlist.query = query
        watchlist.active = active
        watchlist.labels = list(labels or [])
        watchlist.updated_at = now
        if changed:
            watchlist.backfilled_at = None
            # Counted from nothing by the review; a paused watchlist is not reviewed.
            watchlist.backfill_matches = 0 if active else None
        watchlist.save()
        if changed:
            task = import_string(BACKFILL_TASK)
            transaction.on_commit(partial(task.enqueue, watchlist.pk))
    return watchlist


def clean_labels(raw: str) -> list[str]:
    """Labels as typed, comma-separated: trimmed, without duplicates or empties."""
    seen: dict[str, str] = {}
    for label in raw.split(","):
        label = " ".join(label.split())[:50]
        if label and fast_fold(label) not in seen:
            seen[fast_fold(label)] = label
    return list(seen.values())[:20]
