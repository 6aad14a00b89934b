"""Adding a source by pasting any URL, fetched from a real local server: a feed is taken, a
page's feed is discovered, a page without one is watched; what cannot be fetched adds nothing."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import User
from essaim.watch.models import Item, Source
from essaim.watch.services.sources import AddRefused, Labels, add_source
from essaim.watch.tests.server import FeedServer, fixture

pytestmark = pytest.mark.django_db

RSS = "application/rss+xml; charset=utf-8"


def serve_blog(server: FeedServer) -> None:
    server.route("/", fixture("blog_home.html"))
    server.route("/feed/", fixture("blog_feed.xml"), content_type=RSS, etag='"v1"')


def test_a_blog_home_page_gives_its_feed(feed_server: FeedServer, hq: User) -> None:
    serve_blog(feed_server)
    added = add_source(
        url=feed_server.url("/"), by=hq, labels=Labels(camp="allié", media_type="blog", zone="93")
    )
    source = added.source
    assert (added.created, added.how, added.found_on) == (True, "discovered", feed_server.url("/"))
    assert (source.url, source.kind, source.title, source.found_on) == (
        feed_server.url("/feed/"),
        "feed",
        "Le blog de Jeanne Martin",
        feed_server.url("/"),
    )
    assert (source.camp, source.media_type, source.zone, source.status) == (
        "allié",
        "blog",
        "93",
        "ok",
    )
    assert (source.created_by, source.etag, source.body_hash, source.items_count) == (hq, "", "", 0)
    assert [seen.path for seen in feed_server.requests] == ["/", "/feed/"]
    # Our User-Agent names Essaim and where to reach us.
    assert feed_server.requests[0].headers["user-agent"].startswith("Essaim/")
    # Adding stores no item: the watcher does.
    assert Item.objects.count() == 0


def test_a_feed_url_is_taken_as_it_is_and_a_known_one_is_not_added_twice(
    feed_server: FeedServer, hq: User
) -> None:
    serve_blog(feed_server)
    added = add_source(url=feed_server.url("/feed/?utm_source=newsletter#top"), by=hq)
    assert (added.created, added.how, added.source.url) == (True, "feed", feed_server.url("/feed/"))
    again = add_source(url=feed_server.url("/feed"), by=hq)
    assert (again.created, again.how, again.source.pk) == (False, "known", added.source.pk)
    # The home page leads to the same feed: known, and no second source.
    from_home = add_source(url=feed_server.url("/"), by=hq)
    assert (from_home.created, from_home.source.pk) == (False, added.source.pk)
    assert Source.objects.count() == 1


def test_a_page_without_a_feed_is_watched_for_change(feed_server: FeedServer, hq: User) -> None:
    feed_server.route(
        "/programme/", b"<html><head><title>Notre programme</title></head><body>Texte</body></html>"
    )
    added = add_source(url=feed_server.url("/programme/"), by=hq)
    assert (added.created, added.how, added.source.kind, added.source.title) == (
        True,
        "page",
        "page",
        "Notre programme",
    )
    # Every common path was tried, each answered 404.
    assert feed_server.hits("/feed/") == 1
    assert feed_server.hits("/rss.xml") == 1


def test_the_comments_feed_is_skipped_when_the_main_one_fails(
    feed_server: FeedServer, hq: User
) -> None:
    feed_server.route("/", fixture("blog_home.html"))
    feed_server.route("/feed/", b"erreur", status=500)
    feed_server.route("/comments/feed/", fixture("atom.xml"), content_type="application/atom+xml")
    added = add_source(url=feed_server.url("/"), by=hq)
    assert (added.how, added.source.url, added.source.title) == (
        "discovered",
        feed_server.url("/comments/feed/"),
        "Actu Montreuil",
    )


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/panne/", 500, "http_500"), ("/absent/", 404, "http_404"), ("/lent/", 429, "http_429")],
)
def test_a_url_that_answers_an_error_adds_nothing(
    feed_server: FeedServer, hq: User, path: str, status: int, code: str
) -> None:
    feed_server.route(path, b"non", status=status)
    with pytest.raises(AddRefused) as refused:
        add_source(url=feed_server.url(path), by=hq)
    assert refused.value.code == code
    assert Source.objects.count() == 0


def test_a_feed_that_declares_entities_is_refused(feed_server: FeedServer, hq: User) -> None:
    feed_server.route("/feed/", fixture("billion_laughs.xml"), content_type=RSS)
    with pytest.raises(AddRefused) as refused:
        add_source(url=feed_server.url("/feed/"), by=hq)
    assert refused.value.code == "xml_entities"
    assert Source.objects.count() == 0


def test_without_the_test_allow_list_a_local_server_is_refused(
    feed_server: FeedServer, hq: User, settings: Any
) -> None:
    serve_blog(feed_server)
    settings.FETCH_ALLOW_ADDRESSES = []
    with pytest.raises(AddRefused) as refused:
        add_source(url=feed_server.url("/"), by=hq)
    assert refused.value.code == "forbidden_address"
    assert feed_server.requests == []
    assert Source.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("javascript:alert(1)", "bad_url"),
        ("https://user:pass@blog.exemple.fr/", "bad_url"),
        ("http://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("http://2130706433/", "forbidden_address"),
        ("http://[::ffff:127.0.0.1]/", "forbidden_address"),
    ],
)
def test_urls_the_fetcher_refuses_add_nothing(hq: User, url: str, code: str) -> None:
    with pytest.raises(AddRefused) as refused:
        add_source(url=url, by=hq)
    assert refused.value.code == code
    assert Source.objects.count() == 0


def test_discovery_stops_at_the_deadline_of_adding(
    feed_server: FeedServer, hq: User, settings: Any
) -> None:
    """A person waits on the page: past WATCH_ADD_TIMEOUT no more candidate is fetched, and
    the page is watched as it is."""
    serve_blog(feed_server)
    settings.WATCH_ADD_TIMEOUT = 0
    added = add_source(url=feed_server.url("/"), by=hq)
    assert (added.how, added.source.kind) == ("page", "page")
    assert [seen.path for seen in feed_server.requests] == ["/"]
