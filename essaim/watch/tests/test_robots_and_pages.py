"""Watched pages through `essaim watcher --once` and a real local server: robots.txt asked
once per host and obeyed, pages read by trafilatura in a worker that a hostile page cannot
hold, and the failures' clear codes."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from essaim.watch.models import FetchLog, Item, Source
from essaim.watch.services.extraction import (
    EXTRACTION_FAILED,
    EXTRACTION_TIMEOUT,
    ExtractionError,
    ExtractorPool,
    extract_page,
)
from essaim.watch.services.health import error_words
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.tests.server import FeedServer

pytestmark = pytest.mark.django_db(transaction=True)

ARTICLE = """<html lang="fr"><head><title>Programme | Le blog</title>
<meta name="author" content="Jeanne Martin"></head><body>
<nav><a href="/">Accueil</a> <a href="/contact">Contact</a></nav>
<article><h1>Notre programme pour Montreuil</h1>
<p>La candidate a présenté ce matin son programme pour les transports, avec \
<a href="https://mairie.exemple.fr/transports">le détail des mesures</a> et un calendrier \
précis. Les associations ont salué une démarche sérieuse et attendue.</p>
<p>Selon <a href="/sondage">un sondage récent</a>, les habitants attendent surtout des bus \
plus fréquents et des pistes cyclables sûres dans toute la ville&lt;script&gt;alert(1)</p>
</article><footer><a href="/mentions">Mentions légales</a></footer></body></html>"""


def run_watcher() -> dict[str, Any]:
    out = StringIO()
    call_command("watcher", "--once", "--stats", stdout=out)
    stats: dict[str, Any] = json.loads(out.getvalue())
    return stats


def page_source(server: FeedServer, path: str) -> Source:
    return SourceFactory.create(url=server.url(path), kind="page")


def test_a_page_is_read_for_its_main_text_metadata_and_links(feed_server: FeedServer) -> None:
    feed_server.route("/programme/", ARTICLE.encode())
    source = page_source(feed_server, "/programme/")
    assert run_watcher()["outcomes"] == {"ok": 1}
    item = Item.objects.get(source=source)
    assert (item.title, item.author, item.language) == (
        "Notre programme pour Montreuil",
        "Jeanne Martin",
        "fr",
    )
    # The main text, without the menu and the footer; markup written as text is dropped (nh3),
    # as in feeds.
    assert item.summary.splitlines() == [
        "Notre programme pour Montreuil",
        "La candidate a présenté ce matin son programme pour les transports, avec le détail "
        "des mesures et un calendrier précis. Les associations ont salué une démarche sérieuse "
        "et attendue.",
        "Selon un sondage récent, les habitants attendent surtout des bus plus fréquents et des "
        "pistes cyclables sûres dans toute la ville",
    ]
    assert item.links == ["https://mairie.exemple.fr/transports", feed_server.url("/sondage")]
    # robots.txt was asked first (none: a 404 allows everything), then the page.
    assert [seen.path for seen in feed_server.requests] == ["/robots.txt", "/programme/"]


def test_a_page_forbidden_by_robots_is_not_fetched_and_says_why(feed_server: FeedServer) -> None:
    feed_server.route(
        "/robots.txt",
        b"User-agent: *\nAllow: /\n\nUser-agent: Essaim\nDisallow: /prive/\n",
        content_type="text/plain",
    )
    feed_server.route("/prive/page/", ARTICLE.encode())
    feed_server.route("/public/page/", ARTICLE.encode())
    forbidden = page_source(feed_server, "/prive/page/")
    allowed = page_source(feed_server, "/public/page/")
    # A feed is meant for machines: robots.txt is not asked about it.
    feed = SourceFactory.create(url=feed_server.url("/prive/feed/"))
    stats = run_watcher()
    assert stats["outcomes"] == {"http_404": 1, "ok": 1, "robots_forbidden": 1}
    forbidden.refresh_from_db()
    assert (forbidden.status, forbidden.last_error, forbidden.failure_score) == (
        "failing",
        "robots_forbidden",
        1.0,
    )
    assert error_words("robots_forbidden") == (
        "Interdite par le robots.txt du site : page non consultée"
    )
    assert FetchLog.objects.get(source=forbidden).outcome == "robots_forbidden"
    assert Item.objects.filter(source=forbidden).count() == 0
    assert Item.objects.filter(source=allowed).count() == 1
    # One robots.txt for the host (cached for the second page), and the forbidden page never
    # requested.
    assert feed_server.hits("/robots.txt") == 1
    assert feed_server.hits("/prive/page/") == 0
    assert feed_server.hits("/prive/feed/") == 1
    assert FetchLog.objects.get(source=feed).outcome == "http_404"


def test_a_robots_txt_that_fails_with_5xx_forbids_the_page_for_now(
    feed_server: FeedServer,
) -> None:
    feed_server.route("/robots.txt", b"panne", status=500, content_type="text/plain")
    feed_server.route("/page/", ARTICLE.encode())
    source = page_source(feed_server, "/page/")
    assert run_watcher()["outcomes"] == {"robots_unreachable": 1}
    source.refresh_from_db()
    assert (source.last_error, source.failure_score) == ("robots_unreachable", 0.5)
    assert feed_server.hits("/page/") == 0


def test_a_pathological_page_gets_its_reader_killed_and_a_clear_error(
    feed_server: FeedServer, settings: Any
) -> None:
    # 200,000 paragraphs (8 MB): trafilatura needs well over a minute for them.
    sea = ("<html><body>" + "<p>Le mot et le mot encore une phrase.</p>" * 200_000).encode()
    feed_server.route("/mer/", sea)
    feed_server.route("/programme/", ARTICLE.encode())
    slow = page_source(feed_server, "/mer/")
    fine = page_source(feed_server, "/programme/")
    settings.WATCH_MAX_BYTES = 20 * 1024 * 1024
    settings.WATCH_EXTRACT_TIMEOUT = 2.0
    stats = run_watcher()
    assert stats["outcomes"] == {"extraction_timeout": 1, "ok": 1}
    slow.refresh_from_db()
    assert (slow.status, slow.last_error, slow.failure_score, slow.body_hash) == (
        "failing",
        "extraction_timeout",
        0.5,
        "",
    )
    assert Item.objects.filter(source=slow).count() == 0
    # The next page got a new reader.
    assert Item.objects.get(source=fine).title == "Notre programme pour Montreuil"


def test_a_page_that_exhausts_the_readers_memory_fails_cleanly() -> None:
    links = ("<html><body><div>" + "<a href='/x{n}'>lien</a> " * 200_000).encode()
    pool = ExtractorPool(workers=1, memory_mb=300, timeout=120)
    try:
        with pytest.raises(ExtractionError) as caught:
            extract_page(links, "https://blog.exemple.fr/", pool=pool)
        assert caught.value.code == EXTRACTION_FAILED
        # The pool goes on with a new worker.
        assert extract_page(ARTICLE.encode(), "https://blog.exemple.fr/p/", pool=pool).author == (
            "Jeanne Martin"
        )
    finally:
        pool.close()


def test_a_page_that_takes_too_long_raises_extraction_timeout() -> None:
    sea = ("<html><body>" + "<p>Le mot et le mot encore une phrase.</p>" * 200_000).encode()
    pool = ExtractorPool(workers=1, memory_mb=1024, timeout=1.0)
    try:
        with pytest.raises(ExtractionError) as caught:
            extract_page(sea, "https://blog.exemple.fr/", pool=pool)
        assert caught.value.code == EXTRACTION_TIMEOUT
    finally:
        pool.close()


def test_bad_bytes_and_empty_pages_read_as_nothing_rather_than_failing() -> None:
    pool = ExtractorPool(workers=1, memory_mb=1024, timeout=60)
    try:
        empty = extract_page(b"", "https://blog.exemple.fr/", pool=pool)
        assert (empty.title, empty.text, empty.links) == ("", "", [])
        noise = extract_page(b"\xff\xfe\x00<html>\x00\x01", "https://blog.exemple.fr/", pool=pool)
        assert noise.links == []
        assert not any(ord(char) < 32 for char in noise.text)
    finally:
        pool.close()
