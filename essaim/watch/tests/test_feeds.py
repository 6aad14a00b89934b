"""Feeds as bytes: what the parser keeps of them, and the hostile ones it refuses or tames."""

from __future__ import annotations

import datetime as dt
import time
from email.utils import format_datetime

import pytest

from essaim.watch.services.feeds import (
    FeedError,
    clamp_date,
    parse_feed,
    refuse_entities,
    sniff_feed,
    text_only,
)
from essaim.watch.tests.server import fixture

NOW = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
MB = 10 * 1024 * 1024


def test_an_rss_feed_gives_its_entries_in_order_with_clean_links_and_dates() -> None:
    feed = parse_feed(fixture("blog_feed.xml"), fetched_at=NOW, max_bytes=MB, max_items=500)
    assert (feed.version, feed.title, feed.language) == (
        "rss20",
        "Le blog de Jeanne Martin",
        "fr-fr",
    )
    assert [i.title for i in feed.items] == [
        "Réunion publique à Montreuil",
        "Transports : nos propositions pour l’Est parisien",
        "Pourquoi je m'engage",
    ]
    first = feed.items[0]
    assert first.url == "https://jeanne-martin.exemple.fr/2027/03/reunion-publique/"
    assert first.key == "https://jeanne-martin.exemple.fr/2027/03/reunion-publique"
    assert first.summary == "Plus de deux cents personnes à la salle des fêtes."
    assert first.author == "Jeanne Martin"
    assert first.published_at == dt.datetime(2027, 3, 9, 17, 30, tzinfo=dt.UTC)
    assert first.language == "fr-fr"
    # The fragment goes from the link: the comments of a post are the post.
    assert feed.items[2].url == "https://jeanne-martin.exemple.fr/2027/03/pourquoi/"
    assert (feed.entries, feed.capped, feed.notes) == (3, False, [])


def test_an_atom_feed_and_a_json_feed_are_read_too() -> None:
    atom = parse_feed(fixture("atom.xml"), fetched_at=NOW, max_bytes=MB, max_items=500)
    assert atom.version == "atom10"
    assert [(i.title, i.author, i.key) for i in atom.items] == [
        (
            "Le conseil municipal vote le budget",
            "Rédaction",
            "https://actu-montreuil.exemple.fr/2027/03/budget",
        )
    ]
    json_feed = parse_feed(
        fixture("feed.json"),
        fetched_at=NOW,
        max_bytes=MB,
        max_items=500,
        content_type="application/feed+json",
    )
    assert json_feed.version.startswith("json")
    assert json_feed.title == "Podcast Débats"
    assert [(i.title, i.summary) for i in json_feed.items] == [
        ("Épisode 1 : la dette", "Avec deux économistes."),
        ("Épisode 2 : l'école", "Avec une enseignante."),
    ]


def test_html_and_scripts_in_titles_and_summaries_become_plain_text() -> None:
    feed = parse_feed(fixture("hostile_feed.xml"), fetched_at=NOW, max_bytes=MB, max_items=500)
    assert feed.title == "Hostile"
    first, second = feed.items
    assert first.title == "Gras Titre piégé"
    assert first.summary == "Clique ici"
    # A javascript: link is no link: the item is known by its guid.
    assert (first.url, first.key) == ("", "guid:hostile-1")
    # Text that only looks like markup stays text (escaped again when rendered).
    assert second.title == "A < B & C"
    assert second.summary == "Texte"
    for item in feed.items:
        for text in (item.title, item.summary):
            assert "<" not in text.replace("A < B", "") and "alert" not in text


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_entity_declarations_are_refused_before_the_parser_sees_them(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(FeedError) as refused:
        parse_feed(fixture(name), fetched_at=NOW, max_bytes=MB, max_items=500)
    assert refused.value.code == "xml_entities"
    assert time.monotonic() - started < 1


def test_an_entity_declaration_in_utf16_is_found_too() -> None:
    body = fixture("external_entity.xml").decode().replace('"?>', '" encoding="utf-16"?>', 1)
    with pytest.raises(FeedError) as refused:
        refuse_entities(body.encode("utf-16"))
    assert refused.value.code == "xml_entities"


def test_a_windows_1252_feed_declared_as_utf8_is_read_right() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blog</title>'
        "<link>https://blog.exemple.fr/</link><item><title>L’été à Montréal : 5 €</title>"
        "<link>https://blog.exemple.fr/ete</link>"
        "<description>« Guillemets » et œuvre</description></item></channel></rss>"
    ).encode("cp1252")
    feed = parse_feed(body, fetched_at=NOW, max_bytes=MB, max_items=500)
    assert [(i.title, i.summary) for i in feed.items] == [
        ("L’été à Montréal : 5 €", "« Guillemets » et œuvre")
    ]
    assert feed.notes == ["encoding: declared one, read as windows-1252"]


def dated_feed(*dates: dt.datetime) -> bytes:
    items = "".join(
        f"<item><title>n°{n}</title><link>https://blog.exemple.fr/{n}</link>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for n, when in enumerate(dates)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>'
        f"<link>https://blog.exemple.fr/</link>{items}</channel></rss>"
    ).encode()


def test_a_date_in_the_future_is_the_fetch_time_and_1970_is_unknown() -> None:
    feed = parse_feed(
        dated_feed(
            NOW + dt.timedelta(days=400),
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            NOW - dt.timedelta(hours=2),
        ),
        fetched_at=NOW,
        max_bytes=MB,
        max_items=500,
    )
    assert [i.published_at for i in feed.items] == [NOW, None, NOW - dt.timedelta(hours=2)]
    assert clamp_date(None, fetched_at=NOW) is None


def test_a_feed_of_50000_entries_gives_its_first_entries_and_says_so() -> None:
    items = "".join(
        f"<item><title>Dépêche {n}</title><link>https://agence.exemple.fr/{n}</link></item>"
        for n in range(50_000)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Agence</title>'
        f"<link>https://agence.exemple.fr/</link>{items}</channel></rss>"
    ).encode()
    started = time.monotonic()
    feed = parse_feed(body, fetched_at=NOW, max_bytes=MB, max_items=500)
    assert time.monotonic() - started < 60
    assert (feed.entries, len(feed.items), feed.capped) == (50_000, 500, True)
    assert [i.title for i in feed.items[:2]] == ["Dépêche 0", "Dépêche 1"]
    assert feed.items[-1].title == "Dépêche 499"
    assert feed.notes == ["50000 entries, the first 500 read"]


def test_a_document_over_the_byte_cap_is_refused() -> None:
    with pytest.raises(FeedError) as refused:
        parse_feed(fixture("blog_feed.xml"), fetched_at=NOW, max_bytes=100, max_items=500)
    assert refused.value.code == "too_large"


@pytest.mark.parametrize(
    "body",
    [
        fixture("blog_home.html"),
        b"",
        b"{}",
        b"/etc/passwd",  # feedparser would open a file by that name if handed bytes
        b"https://blog.exemple.fr/feed/",  # …and fetch a URL handed as a string
        b"\x00\xff\xfe garbage",
    ],
)
def test_what_is_not_a_feed_says_so_and_opens_nothing(body: bytes) -> None:
    with pytest.raises(FeedError) as refused:
        parse_feed(body, fetched_at=NOW, max_bytes=MB, max_items=500)
    assert refused.value.code == "not_a_feed"


def test_the_sniffer_tells_feeds_from_pages() -> None:
    assert sniff_feed(fixture("blog_feed.xml"))
    assert sniff_feed(fixture("atom.xml"))
    assert sniff_feed(fixture("feed.json"))
    assert sniff_feed(b"", "application/rss+xml; charset=utf-8")
    assert not sniff_feed(fixture("blog_home.html"), "text/html")
    assert not sniff_feed(b'{"a": 1}', "application/json")


def test_text_only_keeps_text_and_drops_markup() -> None:
    assert (
        text_only("<p>Un <script>x()</script>texte   <br>sur\ndeux</p>", 100) == "Un texte sur deux"
    )
    assert text_only("a" * 50, 10) == "a" * 10
    assert text_only(None, 10) == ""
