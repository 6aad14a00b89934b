"""One stream of stories: each new item is de-duplicated in layers and placed in a story.

The layers, first match wins (an item is compared with the items seen within
WATCH_STORY_WINDOW_DAYS, except for its address, which identifies it for ever):

1. the same normalized address (essaim.watch.services.urls.url_key) from another source;
2. the same folded text (title and summary, agency credits dropped), when long enough;
3. the same title in the same source (a page republished under another address), except in the
   tracers' source, where one source holds pages of every site;
4. near-duplicates (essaim.watch.services.dedup): candidates found through the MinHash bands
   stored in ItemBand, then the shingles compared. At or above WATCH_MERGE_AUTO, with both texts
   at least WATCH_MERGE_MIN_WORDS long, the item joins the other's story; between
   WATCH_MERGE_SUGGEST and there (or too short) it starts its own story and a MergeSuggestion
   asks a person.

An item that matched by address, by text or as a near-duplicate with a long sentence in common
is a copy (`is_reprint`), as is one crediting a news agency (`is_wire`); the others are
original coverage. A story counts both apart.

Concurrency: placing items reads the stories others are writing. Each batch runs in one
transaction that first takes a lock every ingest shares (a transaction-scoped advisory lock on
PostgreSQL; on SQLite the write lock every IMMEDIATE transaction takes), so that two watchers
never both start a story for the same dispatch. A batch of a poll takes milliseconds; the
watchers' fetching goes on meanwhile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from essaim.watch.models import Item, ItemBand, Match, MergeSuggestion, Source, Story
from essaim.watch.services import dedup
from essaim.watch.services.carry import carry_over
from essaim.watch.services.feeds import EARLIEST_DATE

log = logging.getLogger("essaim.watch.stories")

BATCH = 500
# Stories a near-duplicate may be suggested for, at most, per item.
SUGGESTIONS_PER_ITEM = 3
# Placed items compared with each new one, at most: those sharing the most MinHash bands.
CANDIDATES_PER_ITEM = 30
# Parameters in one IN (…) list: under SQLite's older limit of 999 variables.
_IN_CHUNK = 900
# The key of the advisory lock every ingest takes on PostgreSQL ("essaim.watch.stories").
_LOCK_KEY = 0x455353_5354_4F52
# A published date this far after the fetch is a clock error, not news from the future.
_CLOCK_SLACK = dt.timedelta(minutes=10)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    auto: float
    suggest: float
    min_words: int
    window: dt.timedelta

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            auto=settings.WATCH_MERGE_AUTO,
            suggest=settings.WATCH_MERGE_SUGGEST,
            min_words=settings.WATCH_MERGE_MIN_WORDS,
            window=dt.timedelta(days=settings.WATCH_STORY_WINDOW_DAYS),
        )


@dataclasses.dataclass
class _Row:
    """An item being placed, or a candidate it is compared with."""

    id: int
    source_id: int
    url_key: str
    title: str
    seen_at: dt.datetime
    feats: dedup.Features
    story: int | None = None  # a story's id, or -(index + 1) of a story made in this batch
    match: str = ""
    similarity: float | None = None
    reprint: bool = False


def seen_at(published_at: dt.datetime | None, fetched_at: dt.datetime) -> dt.datetime:
    """When an item appeared: its published date when believable, else its fetch's."""
    if published_at is None or published_at < EARLIEST_DATE:
        return fetched_at
    if published_at > fetched_at + _CLOCK_SLACK:
        return fetched_at
    return published_at


def ingest_items(
    item_ids: Iterable[int], *, thresholds: Thresholds | None = None
) -> dict[int, int]:
    """Place the given items in stories (see module), in batches of BATCH, each in its own
    transaction. Items already placed are left as they are, so that calling it twice, or from
    two watchers, is harmless. Returns {item id: story id} for every given item that has a story."""
    limits = thresholds or Thresholds.from_settings()
    ids = sorted(set(item_ids))
    placed: dict[int, int] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            lock_stories()
            _ingest_batch(chunk, limits)
        placed.update(
            Item.objects.filter(pk__in=chunk, story__isnull=False).values_list("pk", "story_id")
        )
    return placed


def place_again(item_id: int, *, thresholds: Thresholds | None = None) -> int | None:
    """Place again an item whose text changed after it was placed (a tracer's page read after a
    first fetch failed, placed then by its address alone, untitled): it leaves its story and
    goes through the layers as if new. When it starts a story of its own again, that is the
    story it had (its triage, missions and alerts stay with it) with its title refreshed; when
    it joins another story, the one it leaves is deleted once empty, what pointed at it carried
    over, as an accepted merge does.
    Returns its story's id."""
    limits = thresholds or Thresholds.from_settings()
    with transaction.atomic():
        lock_stories()
        old = Item.objects.filter(pk=item_id).values_list("story_id", flat=True).first()
        ItemBand.objects.filter(item_id=item_id).delete()
        MergeSuggestion.objects.filter(
            item_id=item_id, status=MergeSuggestion.Status.PENDING
        ).delete()
        Item.objects.filter(pk=item_id).update(
            story=None,
            ingested_at=None,
            text_hash="",
            title_hash="",
            is_wire=False,
            is_reprint=False,
            match="",
            similarity=None,
        )
        _ingest_batch([item_id], limits)
        new = Item.objects.filter(pk=item_id).values_list("story_id", flat=True).first()
        if old is None or new is None or new == old:
            refresh_counts([s for s in (old, new) if s is not None])
            return new
        if Item.objects.filter(story_id=old).exists():
            refresh_counts([old])
            return new
        if not Item.objects.filter(story_id=new).exclude(pk=item_id).exists():
            # Alone again: back to the story it had, and the one just made goes.
            Item.objects.filter(pk=item_id).update(story_id=old)
            MergeSuggestion.objects.filter(story_id=new).update(story_id=old)
            Story.objects.filter(pk=new).delete()
            refresh_counts([old])
            return old
        MergeSuggestion.objects.filter(story_id=old).update(story_id=new)
        carry_over(gone=old, kept=new, now=timezone.now())
        Story.objects.filter(pk=old).delete()
        return new


def ingest_pending(*, source_ids: Sequence[int] | None = None, limit: int = 5000) -> int:
    """Place items stored but not yet in a story: a poll's new items (the watcher calls this
    after recording them), or those a failed ingest left behind (the catch-up job). Returns how
    many were looked at."""
    pending = Item.objects.filter(ingested_at__isnull=True)
    if source_ids is not None:
        pending = pending.filter(source_id__in=list(source_ids))
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:limit])
    if ids:
        ingest_items(ids)
    return len(ids)


def ingest_after_poll(source_ids: Sequence[int]) -> None:
    """The watcher's call once polls' new items are committed: place them. A failure here loses
    nothing (the items stay pending for the catch-up job) and must not stop the watcher."""
    try:
        ingest_pending(source_ids=source_ids)
    except Exception:
        log.exception("watch: placing the new items of sources %s in stories failed", source_ids)


def prune_bands(*, now: dt.datetime | None = None) -> int:
    """Delete the MinHash bands of items older than the window (and a day): they are no longer
    compared. Returns the rows deleted."""
    limit = (now or timezone.now()) - dt.timedelta(days=settings.WATCH_STORY_WINDOW_DAYS + 1)
    deleted, _kinds = ItemBand.objects.filter(seen_at__lt=limit).delete()
    return deleted


def refresh_counts(story_ids: Iterable[int]) -> None:
    """Recompute the counts, times, first item and title of stories from their items, in one
    statement (correlated subqueries), whatever order the items arrived in."""
    ids = list(set(story_ids))
    if not ids:
        return
    items = Item.objects.filter(story=OuterRef("pk")).order_by()
    first = items.order_by("seen_at", "pk")

    def agg(expression: Count | Min | Max) -> Subquery:
        return Subquery(items.values("story").annotate(v=expression).values("v")[:1])

    for start in range(0, len(ids), _IN_CHUNK):
        Story.objects.filter(pk__in=ids[start : start + _IN_CHUNK]).update(
            items_count=Coalesce(agg(Count("pk")), 0),
            sources_count=Coalesce(agg(Count("source", distinct=True)), 0),
            reprints_count=Coalesce(agg(Count("pk", filter=Q(is_reprint=True))), 0),
            originals_count=Coalesce(agg(Count("pk", filter=Q(is_reprint=False))), 0),
            first_seen=Coalesce(agg(Min("seen_at")), "first_seen"),
            last_seen=Coalesce(agg(Max("seen_at")), "last_seen"),
            first_item=Subquery(first.values("pk")[:1]),
            first_source=Subquery(first.values("source_id")[:1]),
            # The title of its first original item: a reprint's headline is often rewritten.
            title=Coalesce(
                Subquery(first.filter(is_reprint=False).values("title")[:1]),
                Subquery(first.values("title")[:1]),
                Value(""),
            ),
        )


# --- one batch ------------------------------------------------------------------------------


def lock_stories() -> None:
    """Take the lock every change of stories shares, until the transaction ends (see module)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # SQLite: the transaction is IMMEDIATE (settings), so it already holds the write lock.


def _ingest_batch(ids: list[int], limits: Thresholds) -> None:
    rows = _load(Item.objects.filter(pk__in=ids, ingested_at__isnull=True), limits)
    if not rows:
        return
    rows.sort(key=lambda r: (r.seen_at, r.id))
    low = rows[0].seen_at - limits.window
    high = rows[-1].seen_at + limits.window
    batch_ids = {r.id for r in rows}

    by_url = _first_by(
        Item.objects.filter(story__isnull=False).exclude(pk__in=batch_ids),
        "url_key",
        {r.url_key for r in rows if r.url_key},
        lambda c: c.url_key,
    )
    recent = Item.objects.filter(story__isnull=False, seen_at__gte=low, seen_at__lte=high).exclude(
        pk__in=batch_ids
    )
    by_text = _first_by(
        recent, "text_hash", {r.feats.text_hash for r in rows} - {""}, lambda c: c.feats.text_hash
    )
    # The tracers' source holds every page any tracer reported, from every site: the same
    # title there says nothing about being the same page, so layer 3 does not apply to it.
    tracers = set(
        Source.objects.filter(
            pk__in={r.source_id for r in rows}, kind=Source.Kind.TRACER
        ).values_list("pk", flat=True)
    )
    by_title = _first_by(
        recent,
        "title_hash",
        {r.feats.title_hash for r in rows if r.source_id not in tracers} - {""},
        lambda c: (c.source_id, c.feats.title_hash),
    )
    near = _band_candidates(rows, low, high, batch_ids, limits)

    # Earlier items of this batch are candidates too, in the same layers.
    batch_url: dict[str, _Row] = {}
    batch_text: dict[str, _Row] = {}
    batch_title: dict[tuple[int, str], _Row] = {}
    batch_bands: dict[int, list[_Row]] = defaultdict(list)
    new_stories: list[_Row] = []  # the first item of each story this batch starts
    suggestions: list[tuple[_Row, _Row, float]] = []

    for row in rows:
        f = row.feats
        target: _Row | None = None
        if row.url_key:
            target = batch_url.get(row.url_key) or by_url.get(row.url_key)
            if target is not None and target.source_id != row.source_id:
                row.match, row.similarity, row.reprint = Match.URL, 1.0, True
            else:
                target = None
        if target is None and f.text_hash:
            target = _within(batch_text.get(f.text_hash) or by_text.get(f.text_hash), row, limits)
            if target is not None:
                row.match, row.similarity, row.reprint = Match.TEXT, 1.0, True
        if target is None and f.title_hash and row.source_id not in tracers:
            key = (row.source_id, f.title_hash)
            found = _within(batch_title.get(key) or by_title.get(key), row, limits)
            # A recurring title ("La revue de presse du matin") is one item only when the texts
            # agree too, or when one of them is little more than its title.
            if found is not None and not (
                min(f.words - f.title_words, found.feats.words - found.feats.title_words) <= 5
                or dedup.similarity(f.shingles, found.feats.shingles) >= limits.suggest
            ):
                found = None
            target = found
            if target is not None:
                row.match, row.similarity = Match.TITLE, 1.0
                row.reprint = target.reprint
        if target is None:
            pool = {c.id: c for c in near.get(row.id, ())}
            for band in f.bands:
                for c in batch_bands.get(band, ()):
                    pool[c.id] = c
            earliest, latest = row.seen_at - limits.window, row.seen_at + limits.window
            shingles = f.shingles
            size = len(shingles)
            # dedup.similarity, inlined: it runs for every candidate of every item.
            scored = sorted(
                (
                    (
                        len(shingles & c.feats.shingles) / min(size, len(c.feats.shingles))
                        if size and c.feats.shingles
                        else 0.0,
                        c,
                    )
                    for c in pool.values()
                    if earliest <= c.seen_at <= latest
                ),
                key=lambda pair: (-pair[0], pair[1].seen_at, pair[1].id),
            )
            best_score, best = scored[0] if scored else (0.0, None)
            long_enough = f.words >= limits.min_words
            if (
                best is not None
                and best_score >= limits.auto
                and long_enough
                and best.feats.words >= limits.min_words
                and not dedup.facts_disagree(f.facts, best.feats.facts)
            ):
                target = best
                row.match, row.similarity = Match.NEAR, round(best_score, 4)
                row.reprint = best_score >= 0.9 or bool(
                    f.long_sentences & best.feats.long_sentences
                )
            else:
                seen_stories: set[int | None] = set()
                for score, candidate in scored:
                    if score < limits.suggest or len(seen_stories) >= SUGGESTIONS_PER_ITEM:
                        break
                    if candidate.story in seen_stories:
                        continue
                    # Another town, other figures: another event, not a question for a person.
                    if dedup.facts_disagree(f.facts, candidate.feats.facts):
                        continue
                    seen_stories.add(candidate.story)
                    suggestions.append((row, candidate, round(score, 4)))
        if target is not None:
            row.story = target.story
        else:
            new_stories.append(row)
            row.story = -len(new_stories)
            row.match = Match.FIRST
        row.reprint = row.reprint or f.wire
        if row.url_key:
            batch_url.setdefault(row.url_key, row)
        if f.text_hash:
            batch_text.setdefault(f.text_hash, row)
        if f.title_hash:
            batch_title.setdefault((row.source_id, f.title_hash), row)
        for band in f.bands:
            batch_bands[band].append(row)

    _write(rows, new_stories, suggestions)


def _write(
    rows: list[_Row], new_stories: list[_Row], suggestions: list[tuple[_Row, _Row, float]]
) -> None:
    now = timezone.now()
    made = Story.objects.bulk_create(
        [
            Story(title=r.title, first_seen=r.seen_at, last_seen=r.seen_at, created_at=now)
            for r in new_stories
        ],
        batch_size=BATCH,
    )

    def story_id(value: int | None) -> int:
        assert value is not None
        return value if value > 0 else made[-value - 1].pk

    for r in rows:
        r.story = story_id(r.story)
    _update_items(rows, now)
    _insert_bands(rows)
    MergeSuggestion.objects.bulk_create(
        [
            MergeSuggestion(
                item_id=row.id,
                story_id=story_id(candidate.story),
                similar_item_id=candidate.id,
                similarity=score,
                created_at=now,
            )
            for row, candidate, score in suggestions
            if story_id(candidate.story) != row.story
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    refresh_counts(r.story for r in rows if r.story is not None)


# The placed items' columns, written by one UPDATE … FROM (VALUES …) per chunk (SQLite ≥ 3.33
# and PostgreSQL both have it, and both name a VALUES list's columns column1, column2…): the
# ORM's bulk_update builds a CASE per column and per row, and model instances with their
# signals, which cost more than the rest of a batch.
_UPDATE_ITEMS = """
UPDATE watch_item SET
    story_id = CAST(v.column2 AS bigint),
    seen_at = v.column3,
    text_hash = v.column4,
    title_hash = v.column5,
    is_wire = v.column6,
    is_reprint = v.column7,
    "match" = v.column8,
    similarity = CAST(v.column9 AS double precision),
    ingested_at = v.column10
FROM (VALUES {rows}) AS v
WHERE watch_item.id = CAST(v.column1 AS bigint)
"""
_UPDATE_CHUNK = 500
_INSERT_BANDS = "INSERT INTO watch_itemband (band, hash, item_id, seen_at) VALUES (%s, %s, %s, %s)"
_INSERT_BANDS_PG = """
INSERT INTO watch_itemband (band, hash, item_id, seen_at)
SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bigint[], %s::timestamptz[])
"""


def _update_items(rows: list[_Row], now: dt.datetime) -> None:
    sqlite = connection.vendor == "sqlite"

    def when(value: dt.datetime) -> Any:
        return connection.ops.adapt_datetimefield_value(value) if sqlite else value

    placeholder = "(" + ", ".join(["%s"] * 10) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _UPDATE_CHUNK):
            chunk = rows[start : start + _UPDATE_CHUNK]
            params: list[Any] = []
            for r in chunk:
                params += [
                    r.id,
                    r.story,
                    when(r.seen_at),
                    r.feats.text_hash,
                    r.feats.title_hash,
                    r.feats.wire,
                    r.reprint,
                    r.match,
                    r.similarity,
                    when(now),
                ]
            sql = _UPDATE_ITEMS.format(rows=", ".join([placeholder] * len(chunk)))
            cursor.execute(sql, params)


def _insert_bands(rows: list[_Row]) -> None:
    """The batch's bands: on PostgreSQL one INSERT of four arrays unnested (a statement per row,
    or a statement of thousands of placeholders, costs more than the insert), on SQLite the
    driver's executemany (no round trips there)."""
    postgresql = connection.vendor == "postgresql"
    # Each row's time adapted once for its bands, not once per band.
    adapt = (lambda at: at) if postgresql else connection.ops.adapt_datetimefield_value
    values = []
    for r in rows:
        if r.feats.bands:
            item, at = r.id, adapt(r.seen_at)
            values += [(band, value, item, at) for band, value in enumerate(r.feats.bands)]
    if not values:
        return
    with connection.cursor() as cursor:
        if postgresql:
            bands, hashes, items, times = (list(column) for column in zip(*values, strict=True))
            cursor.execute(_INSERT_BANDS_PG, [bands, hashes, items, times])
        else:
            cursor.executemany(_INSERT_BANDS, values)


def _load(queryset: QuerySet[Item], limits: Thresholds) -> list[_Row]:
    fields = ("pk", "source_id", "url_key", "title", "summary", "published_at", "fetched_at")
    out = []
    for pk, source_id, key, title, summary, published, fetched in queryset.values_list(*fields):
        out.append(
            _Row(
                id=pk,
                source_id=source_id,
                url_key=key,
                title=title,
                seen_at=seen_at(published, fetched),
                feats=dedup.features(title, summary, min_words=limits.min_words),
            )
        )
    return out


def _candidate_rows(queryset: QuerySet[Item]) -> list[_Row]:
    """Items already placed, as candidates: their stored hashes and their shingles."""
    out = []
    fields = (
        "pk",
        "source_id",
        "url_key",
        "title",
        "summary",
        "seen_at",
        "fetched_at",
        "story_id",
        "is_reprint",
        "text_hash",
        "title_hash",
    )
    for (
        pk,
        source_id,
        key,
        title,
        summary,
        seen,
        fetched,
        story,
        reprint,
        th,
        tih,
    ) in queryset.values_list(*fields):
        feats = dataclasses.replace(_stored_features(title, summary), text_hash=th, title_hash=tih)
        out.append(
            _Row(
                id=pk,
                source_id=source_id,
                url_key=key,
                title=title,
                seen_at=seen or fetched,
                feats=feats,
                story=story,
                reprint=reprint,
            )
        )
    return out


# The same few placed items (a big story's earliest) are candidates for batch after batch:
# their features, a pure function of their text, are kept rather than computed again.
@functools.lru_cache(maxsize=4096)
def _stored_features(title: str, summary: str) -> dedup.Features:
    return dedup.features(title, summary, min_words=0, bands=False)


def _first_by(
    queryset: QuerySet[Item], field: str, values: set[str], key: Callable[[_Row], Hashable]
) -> dict[Any, _Row]:
    """The earliest placed item for each `key` among the items whose `field` is in `values`."""
    found: dict[Any, _Row] = {}
    ordered = sorted(values)
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = queryset.filter(**{f"{field}__in": ordered[start : start + _IN_CHUNK]})
        for row in _candidate_rows(chunk.order_by("seen_at", "pk")):
            found.setdefault(key(row), row)
    return found


def _band_candidates(
    rows: list[_Row], low: dt.datetime, high: dt.datetime, batch_ids: set[int], limits: Thresholds
) -> dict[int, list[_Row]]:
    """For each item of the batch, the placed items that share one of its bands: the
    CANDIDATES_PER_ITEM that share the most (a story of a thousand echoes shares bands with
    every new copy; comparing with its closest few decides as well, at a fraction of the cost)."""
    wanted: dict[int, list[int]] = defaultdict(list)  # band hash -> batch item ids
    for row in rows:
        for value in row.feats.bands:
            wanted[value].append(row.id)
    hits: dict[int, dict[int, int]] = defaultdict(dict)  # batch item id -> candidate: bands
    values = sorted(wanted)
    for start in range(0, len(values), _IN_CHUNK):
        for value, item_id in ItemBand.objects.filter(
            hash__in=values[start : start + _IN_CHUNK], seen_at__gte=low, seen_at__lte=high
        ).values_list("hash", "item_id"):
            if item_id in batch_ids:
                continue
            for row_id in wanted[value]:
                counts = hits[row_id]
                counts[item_id] = counts.get(item_id, 0) + 1
    # Counter.most_common's choice among equal counts (the first counted) is kept.
    best = {
        row_id: sorted(c for c, _n in Counter(counts).most_common(CANDIDATES_PER_ITEM))
        for row_id, counts in hits.items()
    }
    every = sorted({c for ids in best.values() for c in ids})
    loaded: dict[int, _Row] = {}
    for start in range(0, len(every), _IN_CHUNK):
        for row in _candidate_rows(
            Item.objects.filter(pk__in=every[start : start + _IN_CHUNK], story__isnull=False)
        ):
            loaded[row.id] = row
    return {row_id: [loaded[c] for c in ids if c in loaded] for row_id, ids in best.items()}


def _within(candidate: _Row | None, row: _Row, limits: Thresholds) -> _Row | None:
    if candidate is None or abs(row.seen_at - candidate.seen_at) > limits.window:
        return None
    return candidate
