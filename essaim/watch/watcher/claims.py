"""The watchers' statements on the sources: claim due ones, record a poll's outcome.

A claim writes the watcher's id and a lease on each source it takes, in one statement
committed before any fetch: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that watchers on
several machines never wait for each other nor take the same source; on SQLite the same
UPDATE … RETURNING, atomic in its IMMEDIATE transaction (one writer at a time). A source whose
lease ran out (its watcher died) is due again. Every outcome is recorded only while the
watcher still holds the claim: a source HQ disabled meanwhile, or one another watcher took
after the lease ran out, is left as it is.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from essaim.watch.models import Evidence, FetchLog, Item, Source
from essaim.watch.services import watchlists
from essaim.watch.services.polling import Claimed, Limits, Outcome, next_state
from essaim.watch.services.stories import ingest_after_poll

log = logging.getLogger("essaim.watch.watcher")

_COLUMNS = (
    "id, url, kind, etag, last_modified, body_hash, interval_seconds, failure_score, status, "
    "last_new_item_at"
)
# A demo source (`essaim demo`) has a made-up address, and the tracers' source is fetched one
# item at a time as they are submitted: neither is ever claimed.
_DUE = """status <> 'disabled' AND kind <> 'tracer' AND next_poll_at <= %(now)s AND NOT is_demo
    AND (lease_until IS NULL OR lease_until < %(now)s)"""
_CLAIM_PG = f"""
UPDATE watch_source SET claimed_by = %(watcher)s, lease_until = %(lease)s
WHERE id IN (
    SELECT id FROM watch_source WHERE {_DUE}
    ORDER BY next_poll_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING {_COLUMNS}
"""  # noqa: S608 - only constants are interpolated
_CLAIM_SQLITE = f"""
UPDATE watch_source SET claimed_by = %(watcher)s, lease_until = %(lease)s
WHERE id IN (SELECT id FROM watch_source WHERE {_DUE} ORDER BY next_poll_at LIMIT %(limit)s)
RETURNING {_COLUMNS}
"""  # noqa: S608 - only constants are interpolated


def claim(
    *, watcher_id: str, limit: int, lease_seconds: float, now: dt.datetime | None = None
) -> list[Claimed]:
    """Claim up to `limit` due sources, oldest due first, for `lease_seconds`."""
    now = now or timezone.now()
    params: dict[str, Any] = {
        "watcher": watcher_id,
        "now": now,
        "lease": now + dt.timedelta(seconds=lease_seconds),
        "limit": limit,
    }
    if connection.vendor == "postgresql":
        sql = _CLAIM_PG
    else:
        sql = _CLAIM_SQLITE
        adapt = connection.ops.adapt_datetimefield_value
        params.update(now=adapt(params["now"]), lease=adapt(params["lease"]))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return sorted((_claimed(row) for row in rows), key=lambda c: c.id)


def _claimed(row: tuple[Any, ...]) -> Claimed:
    claimed = Claimed(*row)
    quiet: Any = claimed.last_new_at
    if isinstance(quiet, str):  # SQLite's raw RETURNING may give the stored text
        quiet = parse_datetime(quiet)
    if quiet is not None and timezone.is_naive(quiet):
        quiet = timezone.make_aware(quiet, dt.UTC)  # SQLite stores UTC without an offset
    claimed.last_new_at = quiet
    return claimed


def record(
    claimed: Claimed, outcome: Outcome, *, watcher_id: str, limits: Limits, place: bool = True
) -> int | None:
    """Write one poll's outcome: the items that are new, the evidence that brought them, the
    history line and the source's next state, in one transaction, and release the claim; then
    place the new items in stories, unless `place` is false (the watcher places many polls'
    items at once). Returns the number of new items, or None when the claim was lost (nothing
    written)."""
    with transaction.atomic():
        held = (
            Source.objects.select_for_update()
            .filter(pk=claimed.id, claimed_by=watcher_id)
            .values_list("pk", flat=True)
        )
        if not held:
            log.info("watch: source %s no longer claimed by %s", claimed.id, watcher_id)
            return None
        new = _store_items(claimed, outcome) if outcome.success else 0
        watchlists.items_stored(source_id=claimed.id, outcome=outcome)
        state = next_state(claimed, outcome, new_items=new, limits=limits)
        fields: dict[str, Any] = {
            "claimed_by": "",
            "lease_until": None,
            "status": state.status,
            "failure_score": state.failure_score,
            "interval_seconds": state.interval,
            "next_poll_at": state.next_poll_at,
        }
        if outcome.code != "deferred":
            fields |= {
                "last_fetched_at": outcome.fetched_at,
                "last_http_status": outcome.http_status,
            }
        if outcome.success:
            fields |= {
                "last_success_at": outcome.fetched_at,
                "last_error": "",
                "last_error_message": "",
            }
        elif outcome.code != "deferred":
            fields |= {"last_error": outcome.code[:40], "last_error_message": outcome.message[:300]}
        for name in ("etag", "last_modified", "body_hash"):
            value = getattr(outcome, name)
            if value is not None:
                fields[name] = value
        if new:
            fields["items_count"] = F("items_count") + new
            fields["last_new_item_at"] = outcome.fetched_at
        source = Source.objects.filter(pk=claimed.id)
        source.update(**fields)
        if outcome.title:
            source.filter(title="").update(title=outcome.title[:300])
        if outcome.site_url:
            source.filter(site_url="").update(site_url=outcome.site_url[:2000])
        FetchLog.objects.create(
            source_id=claimed.id,
            at=outcome.fetched_at,
            outcome=outcome.code[:40],
            http_status=outcome.http_status,
            new_items=new,
            elapsed_ms=outcome.elapsed_ms,
            message=outcome.message[:300],
        )
    if new and place:
        ingest_after_poll([claimed.id])
    return new


def _store_items(claimed: Claimed, outcome: Outcome) -> int:
    evidence = outcome.evidence
    if outcome.page is not None:
        page = outcome.page
        kept = _evidence_row(claimed, outcome) if evidence else None
        _item, created = Item.objects.update_or_create(
            source_id=claimed.id,
            url_key=page.key,
            defaults={
                "url": page.url,
                "title": page.title,
                "summary": page.summary,
                "content_hash": page.content_hash,
                "author": page.author,
                "published_at": page.published_at,
                "language": page.language,
                "links": list(page.links),
                "fetched_at": outcome.fetched_at,
                "evidence": kept,
            },
        )
        return 1 if created else 0
    if not outcome.items:
        return 0
    keys = [item.key for item in outcome.items]
    known = set(
        Item.objects.filter(source_id=claimed.id, url_key__in=keys).values_list(
            "url_key", flat=True
        )
    )
    fresh = [item for item in outcome.items if item.key not in known]
    if not fresh:
        return 0
    kept = _evidence_row(claimed, outcome) if evidence else None
    # The claim makes this watcher the only writer of the source's items; ignore_conflicts
    # only keeps a bug elsewhere from losing the whole poll.
    Item.objects.bulk_create(
        [
            Item(
                source_id=claimed.id,
                url=item.url,
                url_key=item.key,
                guid=item.guid,
                title=item.title,
                summary=item.summary,
                author=item.author,
                published_at=item.published_at,
                fetched_at=outcome.fetched_at,
                language=item.language,
                content_hash=item.content_hash,
                evidence=kept,
            )
            for item in fresh
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
    return len(fresh)


def _evidence_row(claimed: Claimed, outcome: Outcome) -> Evidence:
    data = outcome.evidence
    assert data is not None
    return Evidence.objects.create(
        source_id=claimed.id,
        url=data.url[:2000],
        fetched_at=outcome.fetched_at,
        http_status=data.status,
        content_type=data.content_type,
        size=data.size,
        sha256=data.sha256,
        warc=data.warc,
    )
