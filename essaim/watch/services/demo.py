"""The watch's part of the demo: a few sources in each state of health, with their items and
their history of polls.

The demo has no network: its feeds are documents written here, read by the same parser the
watcher uses and stored with their evidence as a poll stores them. The sources live under the
reserved `.example` domain, and their next poll is a day away; when the demo's watcher polls
them, it finds no such host and shows it in their health, as it would.

Idempotent: a source whose address is known is left as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from email.utils import format_datetime
from xml.sax.saxutils import escape

from django.db import transaction
from django.utils import timezone

from essaim.watch.models import Evidence, FetchLog, Item, Source
from essaim.watch.services.evidence import make_warc
from essaim.watch.services.feeds import parse_feed
from essaim.watch.services.stories import ingest_pending
from essaim.watch.services.urls import url_key


@dataclass(frozen=True)
class DemoSource:
    url: str
    title: str
    site: str
    media_type: str
    camp: str
    zone: str
    status: str
    error: str
    items: tuple[tuple[str, str, float], ...]  # title, summary, hours ago


SOURCES = (
    DemoSource(
        "https://marianne-dupuis.example/feed/",
        "Le carnet de Marianne Dupuis",
        "https://marianne-dupuis.example/",
        "blog",
        "allié",
        "75",
        "ok",
        "",
        (
            ("Réunion publique à la mairie du 11e", "Plus de deux cents personnes présentes.", 3),
            ("Transports : ce que propose la candidate", "Le détail des mesures annoncées.", 20),
            ("Notre porte-à-porte de samedi", "Compte rendu du quartier Belleville.", 44),
            ("Pourquoi je m'engage", "Un texte personnel sur la campagne.", 90),
        ),
    ),
    DemoSource(
        "https://actu-lyon.example/rss.xml",
        "Actu Lyon Métropole",
        "https://actu-lyon.example/",
        "news",
        "neutre",
        "69",
        "ok",
        "",
        (
            ("Le débat régional fixé au 12", "Les candidats se retrouveront à Lyon.", 5),
            ("Sondage : l'écart se resserre", "Deux points séparent les premiers.", 30),
            ("Les jeunes et le vote", "Enquête dans trois lycées de la ville.", 70),
        ),
    ),
    DemoSource(
        "https://forum-citoyens-44.example/index.xml",
        "Forum Citoyens 44",
        "https://forum-citoyens-44.example/",
        "forum",
        "",
        "44",
        "failing",
        "http_503",
        (("Fil : la réforme des retraites", "Discussion ouverte depuis lundi.", 50),),
    ),
    DemoSource(
        "https://videos-debats.example/feeds/videos.xml",
        "Débats en vidéo",
        "https://videos-debats.example/",
        "video",
        "opposant",
        "national",
        "disabled",
        "dns_error",
        (),
    ),
)


def seed_demo_watch() -> str:
    """Create the demo's sources (see SOURCES); returns one line for `essaim demo`."""
    now = timezone.now()
    created = 0
    for spec in SOURCES:
        if Source.objects.filter(url_key=url_key(spec.url)).exists():
            continue
        with transaction.atomic():
            _seed(spec, now)
        created += 1
    # Their items in stories, as the watcher would have placed them.
    ingest_pending()
    return f"{created} watch sources created"


def _seed(spec: DemoSource, now: dt.datetime) -> None:
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
    if spec.items:
        body = _feed(spec, now)
        feed = parse_feed(body, fetched_at=now, max_bytes=len(body) + 1, max_items=50)
        fetched = now - dt.timedelta(hours=1 if not failing else 20)
        evidence = Evidence.objects.create(
            source=source,
            url=spec.url,
            fetched_at=fetched,
            http_status=200,
            content_type="application/rss+xml",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            warc=make_warc(
                url=spec.url,
                status=200,
                headers={"content-type": "application/rss+xml"},
                body=body,
                fetched_at=fetched,
            ),
        )
        Item.objects.bulk_create(
            Item(
                source=source,
                url=item.url,
                url_key=item.key,
                guid=item.guid,
                title=item.title,
                summary=item.summary,
                published_at=item.published_at,
                fetched_at=fetched,
                language=item.language,
                content_hash=item.content_hash,
                evidence=evidence,
            )
            for item in feed.items
        )
    Source.objects.filter(pk=source.pk).update(
        items_count=len(spec.items),
        last_fetched_at=polls[-1],
        last_success_at=polls[-1] if not failing else polls[-4],
        last_http_status=503 if spec.error == "http_503" else None if failing else 200,
    )


def _feed(spec: DemoSource, now: dt.datetime) -> bytes:
    entries = "".join(
        f"<item><title>{escape(title)}</title>"
        f"<link>{spec.site}{n}/</link><description>{escape(summary)}</description>"
        f"<pubDate>{format_datetime(now - dt.timedelta(hours=hours))}</pubDate></item>"
        for n, (title, summary, hours) in enumerate(spec.items, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(spec.title)}</title><link>{spec.site}</link><language>fr</language>"
        f"{entries}</channel></rss>"
    ).encode()
