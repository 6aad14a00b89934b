"""The watch's part of the demo: sources in each state of health with their items and their
history of polls, and the watch's story told over them (essaim.watch.services.demo.story):
watchlists, stories with their reprints, the triage, the syntheses, a tracer's reports.

The demo has no network: its feeds are documents written here, read by the same parser the
watcher uses and stored with their evidence as a poll stores them. The sources live under the
reserved `.example` domain, which no one can reach: they are marked `is_demo`, no watcher
claims them (so they keep the health the demo gave them instead of all turning into DNS
errors), and their pages say they are a demonstration. A real source added beside them is
polled as usual.

Idempotent: a source whose address is known keeps its health and history, and gets only the
items it lacks (by address); the story is told once (see story).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime
from xml.sax.saxutils import escape

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from essaim.accounts.services import DEMO_COORDINATOR, DEMO_HQ_ADMIN, ensure_demo_accounts
from essaim.people.services.demo import story_day
from essaim.watch.models import Evidence, FetchLog, Item, Source
from essaim.watch.services.demo import story
from essaim.watch.services.demo.content import (
    FETCH_DELAY,
    SOURCES,
    DemoItem,
    DemoSource,
    When,
)
from essaim.watch.services.evidence import make_warc
from essaim.watch.services.feeds import parse_feed
from essaim.watch.services.search import index_items
from essaim.watch.services.stories import ingest_pending
from essaim.watch.services.urls import url_key
from essaim.watch.services.watchlists import match_items

__all__ = ["SOURCES", "seed_demo_watch"]


def seed_demo_watch() -> str:
    """Create the demo's sources and items (see content), then tell the watch's story over them;
    returns one line for `essaim demo`."""
    now = timezone.now()
    accounts = ensure_demo_accounts()
    hq, coordinator = accounts[DEMO_HQ_ADMIN], accounts[DEMO_COORDINATOR]
    # One transaction: a run that fails leaves no half story that the next run takes as done.
    with transaction.atomic():
        # The watchlists first: the items are matched as they are stored, as the watcher does.
        watchlists = story.ensure_watchlists(by=hq)
        created = items = 0
        for spec in SOURCES:
            source, new = _source(spec, now)
            created += new
            ids = _add_items(source, spec, now)
            # Items stored outside the watcher: searchable and matched as if it had fetched them.
            index_items(ids)
            match_items(ids)
            items += len(ids)
        # Their items in stories, as the watcher would have placed them.
        ingest_pending()
        reports = story.report_links(reviewer=coordinator, now=now)
        decisions = story.triage(by=hq, now=now)
        syntheses = story.syntheses(by=hq, now=now)
    return (
        f"{created} watch sources created, {items} items, {watchlists} watchlists, "
        f"{reports} tracer reports, {decisions} triage decisions, {syntheses} syntheses"
    )


def when(at: When, now: dt.datetime) -> dt.datetime:
    """An item's date (see content): an hour of a past day, or hours before `now`."""
    days, hours = at
    return now - dt.timedelta(hours=hours) if days == 0 else story_day(now, days, hours)


def _source(spec: DemoSource, now: dt.datetime) -> tuple[Source, bool]:
    found = Source.objects.filter(url_key=url_key(spec.url)).first()
    if found is not None:
        return found, False
    failing = spec.status != "ok"
    source = Source.objects.create(
        url=spec.url,
        url_key=url_key(spec.url),
        title=spec.title,
        site_url=spec.site,
        media_type=spec.media_type,
        camp=spec.camp,
        zone=spec.zone,
        status=spec.status,
        last_error=spec.error,
        failure_score={"ok": 0.0, "failing": 1.5, "disabled": 5.0}[spec.status],
        is_demo=True,
        next_poll_at=now + dt.timedelta(days=1),
        created_at=now - dt.timedelta(days=7),
    )
    # A week of polls, every six hours: the last ones failed for a source that is failing.
    polls = [now - dt.timedelta(hours=6 * n) for n in range(28, 0, -1)]
    for n, at in enumerate(polls):
        bad = failing and n >= len(polls) - (3 if spec.status == "failing" else 6)
        outcome = spec.error if bad else ("ok" if n % 4 == 0 else "not_modified")
        status = {"http_503": 503, "ok": 200, "not_modified": 304}.get(outcome)
        FetchLog.objects.create(source=source, at=at, outcome=outcome, http_status=status)
    Source.objects.filter(pk=source.pk).update(
        last_fetched_at=polls[-1],
        last_success_at=polls[-1] if not failing else polls[-4],
        last_http_status=503 if spec.error == "http_503" else None if failing else 200,
    )
    return source, True


def _add_items(source: Source, spec: DemoSource, now: dt.datetime) -> list[int]:
    """Store the source's items it does not have yet, from a feed document listing them (kept
    as the evidence of their poll); returns their ids."""
    links = {f"{spec.site}{n}/": item for n, item in enumerate(spec.items, start=1)}
    known = set(
        Item.objects.filter(source=source, url_key__in=[url_key(u) for u in links]).values_list(
            "url_key", flat=True
        )
    )
    missing = {link: item for link, item in links.items() if url_key(link) not in known}
    if not missing:
        return []
    body = _feed(spec, missing, now)
    feed = parse_feed(body, fetched_at=now, max_bytes=len(body) + 1, max_items=50)
    last_poll = now - dt.timedelta(hours=1 if spec.status == "ok" else 20)
    evidence = Evidence.objects.create(
        source=source,
        url=spec.url,
        fetched_at=last_poll,
        http_status=200,
        content_type="application/rss+xml",
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        warc=make_warc(
            url=spec.url,
            status=200,
            headers={"content-type": "application/rss+xml"},
            body=body,
            fetched_at=last_poll,
        ),
    )

    def fetched_at(link: str) -> dt.datetime:
        # Each item came with the poll that followed its publication.
        spec_item = missing.get(link)
        return (
            last_poll
            if spec_item is None
            else min(when(spec_item.when, now) + FETCH_DELAY, last_poll)
        )

    made = Item.objects.bulk_create(
        Item(
            source=source,
            url=item.url,
            url_key=item.key,
            guid=item.guid,
            title=item.title,
            summary=item.summary,
            published_at=item.published_at,
            fetched_at=fetched_at(item.url),
            language=item.language,
            content_hash=item.content_hash,
            evidence=evidence,
        )
        for item in feed.items
    )
    Source.objects.filter(pk=source.pk).update(items_count=F("items_count") + len(made))
    return [item.pk for item in made]


def _feed(spec: DemoSource, items: dict[str, DemoItem], now: dt.datetime) -> bytes:
    entries = "".join(
        f"<item><title>{escape(item.title)}</title>"
        f"<link>{link}</link><description>{escape(item.summary)}</description>"
        + (f"<pubDate>{format_datetime(when(item.when, now))}</pubDate>" if item.dated else "")
        + "</item>"
        for link, item in items.items()
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(spec.title)}</title><link>{spec.site}</link><language>fr</language>"
        f"{entries}</channel></rss>"
    ).encode()
