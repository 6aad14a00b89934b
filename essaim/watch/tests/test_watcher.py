"""`essaim watcher --once` against a real local HTTP server: items stored once, polite and
conditional polls, every failure recorded in the source's health, and hostile feeds tamed.

Transactional: the watcher's database thread has its own connection, which must see the
test's rows (as the sender's tests do)."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from essaim.accounts.models import User
from essaim.watch.models import Evidence, FetchLog, Item, Source
from essaim.watch.services.evidence import read_warc
from essaim.watch.services.sources import add_source
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.tests.server import FeedServer, fixture

pytestmark = pytest.mark.django_db(transaction=True)

RSS = "application/rss+xml; charset=utf-8"


def run_watcher() -> dict[str, Any]:
    out = StringIO()
    call_command("watcher", "--once", "--stats", stdout=out)
    stats: dict[str, Any] = json.loads(out.getvalue())
    return stats


def fetched_at(source: Source) -> dt.datetime:
    assert source.last_fetched_at is not None
    return source.last_fetched_at


def due(source: Source) -> None:
    Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now())


def feed_source(server: FeedServer, path: str, **kw: Any) -> Source:
    return SourceFactory.create(url=server.url(path), **kw)


def rss(*titles: str, extra: str = "") -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://blog.exemple.fr/{n}/</link></item>"
        for n, t in enumerate(titles)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>https://blog.exemple.fr/</link>{items}{extra}</channel></rss>"
    ).encode()


def test_a_blog_added_by_its_home_page_gets_its_items_once(
    feed_server: FeedServer, hq: User
) -> None:
    feed_server.route("/", fixture("blog_home.html"))
    feed_server.route("/feed/", fixture("blog_feed.xml"), content_type=RSS, etag='"v1"')
    source = add_source(url=feed_server.url("/"), by=hq).source

    stats = run_watcher()
    assert stats == {
        "polled": 1,
        "new_items": 3,
        "outcomes": {"ok": 1},
        "lost_claims": 0,
    }
    items = Item.objects.filter(source=source).order_by("id")
    assert [i.title for i in items] == [
        "Réunion publique à Montreuil",
        "Transports : nos propositions pour l’Est parisien",
        "Pourquoi je m'engage",
    ]
    source.refresh_from_db()
    assert (source.status, source.items_count, source.etag, source.claimed_by) == (
        "ok",
        3,
        '"v1"',
        "",
    )
    assert source.last_http_status == 200
    # A first poll says nothing of the source's pace: the interval stays.
    assert source.next_poll_at == fetched_at(source) + dt.timedelta(seconds=1800)
    log = FetchLog.objects.get(source=source)
    assert (log.outcome, log.http_status, log.new_items) == ("ok", 200, 3)
    # The feed document that brought them is kept as evidence, each item pointing to it.
    evidence = Evidence.objects.get(source=source)
    assert set(items.values_list("evidence", flat=True)) == {evidence.pk}
    assert read_warc(bytes(evidence.warc)).body == fixture("blog_feed.xml")

    # Second round: a conditional GET, answered 304; nothing new, nothing twice.
    due(source)
    assert run_watcher()["outcomes"] == {"not_modified": 1}
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
    assert Item.objects.count() == 3

    # A server that forgets its ETag but sends the same bytes: the hash says unchanged.
    feed_server.route("/feed/", fixture("blog_feed.xml"), content_type=RSS)
    due(source)
    assert run_watcher()["outcomes"] == {"unchanged": 1}
    assert (Item.objects.count(), Evidence.objects.count()) == (3, 1)

    # A new post: one new item, one more piece of evidence.
    body = fixture("blog_feed.xml").replace(
        b"<item>",
        b"<item><title>Nouveau billet</title><link>https://jeanne-martin.exemple.fr/nouveau/</link>"
        b"</item><item>",
        1,
    )
    feed_server.route("/feed/", body, content_type=RSS)
    due(source)
    assert run_watcher()["new_items"] == 1
    assert Item.objects.filter(source=source).latest("id").title == "Nouveau billet"
    source.refresh_from_db()
    assert (source.items_count, Evidence.objects.count()) == (4, 2)
    assert list(
        FetchLog.objects.filter(source=source).order_by("id").values_list("outcome", flat=True)
    ) == [
        "ok",
        "not_modified",
        "unchanged",
        "ok",
    ]


def test_nothing_due_means_nothing_fetched(feed_server: FeedServer) -> None:
    later = feed_source(feed_server, "/a/", next_poll_at=timezone.now() + dt.timedelta(hours=1))
    feed_source(feed_server, "/b/", status="disabled")
    assert run_watcher() == {"polled": 0, "new_items": 0, "outcomes": {}, "lost_claims": 0}
    assert feed_server.requests == []
    assert FetchLog.objects.filter(source=later).count() == 0


@pytest.mark.parametrize(
    ("body", "status", "code", "score"),
    [
        (fixture("billion_laughs.xml"), 200, "xml_entities", 1.0),
        (fixture("external_entity.xml"), 200, "xml_entities", 1.0),
        (fixture("blog_home.html"), 200, "not_a_feed", 1.0),
        (b"erreur interne", 500, "http_500", 0.5),
        (b"introuvable", 404, "http_404", 1.0),
    ],
)
def test_a_failing_feed_records_its_failure_and_stores_nothing(
    feed_server: FeedServer, body: bytes, status: int, code: str, score: float
) -> None:
    feed_server.route("/feed/", body, status=status, content_type=RSS)
    source = feed_source(feed_server, "/feed/")
    assert run_watcher()["outcomes"] == {code: 1}
    source.refresh_from_db()
    assert (source.status, source.last_error, source.failure_score) == ("failing", code, score)
    assert source.next_poll_at == fetched_at(source) + dt.timedelta(seconds=1800 * 2**score)
    log = FetchLog.objects.get(source=source)
    assert (log.outcome, log.http_status, log.new_items) == (code, status, 0)
    assert (Item.objects.count(), Evidence.objects.count()) == (0, 0)


def test_a_429_with_retry_after_is_honoured_and_spares_the_host(feed_server: FeedServer) -> None:
    feed_server.route("/lent/", b"trop vite", status=429, headers={"Retry-After": "120"})
    feed_server.route("/autre/", rss("Un"), content_type=RSS)
    slow = feed_source(feed_server, "/lent/")
    other = feed_source(feed_server, "/autre/")
    assert run_watcher()["outcomes"] == {"deferred": 1, "http_429": 1}
    slow.refresh_from_db()
    other.refresh_from_db()
    assert (slow.status, slow.last_error, slow.failure_score) == ("failing", "http_429", 0.25)
    assert slow.next_poll_at == fetched_at(slow) + dt.timedelta(seconds=120)
    # The other source of that host was not fetched, and counts no failure.
    assert feed_server.hits("/autre/") == 0
    assert (other.status, other.failure_score, other.last_fetched_at) == ("ok", 0.0, None)
    assert abs((other.next_poll_at - slow.next_poll_at).total_seconds()) < 2
    assert FetchLog.objects.get(source=other).outcome == "deferred"


def test_a_503_with_a_date_in_retry_after_is_honoured(feed_server: FeedServer) -> None:
    later = timezone.now() + dt.timedelta(minutes=10)
    feed_server.route(
        "/maintenance/",
        b"",
        status=503,
        headers={"Retry-After": format_datetime(later, usegmt=True)},
    )
    source = feed_source(feed_server, "/maintenance/")
    run_watcher()
    source.refresh_from_db()
    assert (source.last_error, source.failure_score) == ("http_503", 0.25)
    assert abs((source.next_poll_at - later).total_seconds()) < 2


def test_repeated_failures_disable_a_source_and_it_is_polled_no_more(
    feed_server: FeedServer,
) -> None:
    source = feed_source(feed_server, "/disparu/", failure_score=4.5, status="failing")
    assert run_watcher()["outcomes"] == {"http_404": 1}
    source.refresh_from_db()
    assert (source.status, source.failure_score, source.last_error) == ("disabled", 5.5, "http_404")
    due(source)
    assert run_watcher()["polled"] == 0
    assert feed_server.hits("/disparu/") == 1


def test_a_success_heals_a_failing_source(feed_server: FeedServer) -> None:
    feed_server.route("/feed/", rss("Un", "Deux"), content_type=RSS)
    source = feed_source(
        feed_server, "/feed/", failure_score=3.0, status="failing", last_error="timeout"
    )
    run_watcher()
    source.refresh_from_db()
    assert (source.status, source.failure_score, source.last_error, source.items_count) == (
        "ok",
        1.5,
        "",
        2,
    )


def test_hostile_feeds_are_stored_as_plain_text(feed_server: FeedServer) -> None:
    feed_server.route("/hostile/", fixture("hostile_feed.xml"), content_type=RSS)
    cp1252 = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>B</title>'
        "<link>https://b.exemple.fr/</link><item><title>L’été à Montréal : 5 €</title>"
        "<link>https://b.exemple.fr/ete</link></item></channel></rss>"
    ).encode("cp1252")
    feed_server.route("/cp1252/", cp1252, content_type="application/rss+xml; charset=utf-8")
    in_a_month = format_datetime(timezone.now() + dt.timedelta(days=30))
    dates = (
        rss("Futur", "Epoch")
        .replace(
            b"</link></item>",
            f"</link><pubDate>{in_a_month}</pubDate></item>".encode(),
            1,
        )
        .replace(
            b"</link></item>",
            b"</link><pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate></item>",
            1,
        )
    )
    feed_server.route("/dates/", dates, content_type=RSS)
    hostile = feed_source(feed_server, "/hostile/")
    windows = feed_source(feed_server, "/cp1252/")
    dated = feed_source(feed_server, "/dates/")
    assert run_watcher()["new_items"] == 5
    assert list(
        Item.objects.filter(source=hostile).order_by("id").values_list("title", "url", "summary")
    ) == [
        ("Gras Titre piégé", "", "Clique ici"),
        ("A < B & C", "https://hostile.exemple.fr/2/", "Texte"),
    ]
    assert Item.objects.get(source=windows).title == "L’été à Montréal : 5 €"
    assert (
        FetchLog.objects.get(source=windows).message
        == "encoding: declared one, read as windows-1252"
    )
    future, epoch = Item.objects.filter(source=dated).order_by("id")
    assert future.published_at == future.fetched_at
    assert epoch.published_at is None


def test_a_feed_of_50000_items_stores_the_first_500_and_says_so(feed_server: FeedServer) -> None:
    items = "".join(
        f"<item><title>Dépêche {n}</title><link>https://agence.exemple.fr/{n}</link></item>"
        for n in range(50_000)
    )
    feed_server.route("/agence/", rss(extra=items), content_type=RSS)
    source = feed_source(feed_server, "/agence/")
    assert run_watcher()["new_items"] == 500
    source.refresh_from_db()
    assert source.items_count == 500
    assert FetchLog.objects.get(source=source).message == "50000 entries, the first 500 read"
    assert Item.objects.filter(source=source).order_by("id").first().title == "Dépêche 0"  # type: ignore[union-attr]


def test_a_watched_page_gets_one_item_updated_when_its_text_changes(
    feed_server: FeedServer,
) -> None:
    page = b"<html><head><title>Programme</title></head><body><p>Version 1</p></body></html>"
    feed_server.route("/programme/", page)
    source = feed_source(feed_server, "/programme/", kind="page")
    assert run_watcher()["outcomes"] == {"ok": 1}
    item = Item.objects.get(source=source)
    assert (item.title, item.summary, item.url) == ("Programme", "Version 1", source.url)
    feed_server.route("/programme/", page.replace(b"Version 1", b"Version 2"))
    due(source)
    run_watcher()
    item.refresh_from_db()
    assert (Item.objects.filter(source=source).count(), item.summary) == (1, "Version 2")
    assert Evidence.objects.filter(source=source).count() == 2
    source.refresh_from_db()
    assert source.items_count == 1
