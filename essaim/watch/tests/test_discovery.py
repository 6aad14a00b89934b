"""Finding a page's feed from its HTML, and video channels' feeds from their addresses."""

from __future__ import annotations

import pytest

from essaim.watch.services.discovery import (
    COMMON_PATHS,
    decode_html,
    direct_feed,
    feed_candidates,
    read_page,
)
from essaim.watch.tests.server import fixture


def test_a_blog_home_declares_its_feeds_and_they_come_first() -> None:
    page = read_page(fixture("blog_home.html"), url="https://jeanne.exemple.fr/")
    assert page.title == "Le blog de Jeanne Martin – Carnet de campagne"
    assert page.feeds == [
        "https://jeanne.exemple.fr/feed/",
        "https://jeanne.exemple.fr/comments/feed/",
    ]
    assert feed_candidates(page) == [
        "https://jeanne.exemple.fr/feed/",
        "https://jeanne.exemple.fr/comments/feed/",
        *("https://jeanne.exemple.fr" + path for path in COMMON_PATHS if path != "/feed/"),
    ]
    # The visible text, without the head nor the scripts, for a page watched for change.
    assert page.text == "Le blog de Jeanne Martin Réunion publique à Montreuil"


def test_links_resolve_against_base_and_odd_types_or_schemes_are_left_out() -> None:
    html = b"""<html><head><base href="https://cdn.exemple.fr/blog/">
    <link rel="Alternate Home" type="application/atom+xml; charset=utf-8" href="atom.xml">
    <link rel="alternate" type="text/html" href="/en/">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/feed+json" href="//json.exemple.fr/feed.json">
    </head><body></body></html>"""
    page = read_page(html, url="https://blog.exemple.fr/")
    assert page.feeds == [
        "https://cdn.exemple.fr/blog/atom.xml",
        "https://json.exemple.fr/feed.json",
    ]


def test_a_page_without_feed_links_gets_the_common_paths_of_its_site() -> None:
    page = read_page(
        b"<title>Sans flux</title><p>Bonjour</p>", url="https://site.exemple.fr/blog/billet"
    )
    assert feed_candidates(page) == ["https://site.exemple.fr" + path for path in COMMON_PATHS]
    assert (page.title, page.text) == ("Sans flux", "Bonjour")


@pytest.mark.parametrize(
    ("url", "feed"),
    [
        (
            "https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv",
            "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv",
        ),
        (
            "https://m.youtube.com/channel/UCabcdefghijklmnopqrstuv/videos",
            "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv",
        ),
        (
            "https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
            "https://www.youtube.com/feeds/videos.xml?playlist_id=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
        ),
        (
            "https://www.youtube.com/user/franceinfo",
            "https://www.youtube.com/feeds/videos.xml?user=franceinfo",
        ),
        (
            "https://www.dailymotion.com/franceinfo",
            "https://www.dailymotion.com/rss/user/franceinfo",
        ),
        ("https://www.youtube.com/@franceinfo", None),
        ("https://www.dailymotion.com/video/x8abc12", None),
        ("https://blog.exemple.fr/", None),
    ],
)
def test_a_channel_address_gives_its_feed_without_a_fetch(url: str, feed: str | None) -> None:
    assert direct_feed(url) == feed


def test_a_youtube_handle_page_names_its_channel_and_so_its_feed() -> None:
    html = b"""<html><head><link rel="canonical"
    href="https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv"></head><body></body></html>"""
    page = read_page(html, url="https://www.youtube.com/@franceinfo")
    assert feed_candidates(page)[0] == (
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCabcdefghijklmnopqrstuv"
    )
    meta = b'<meta itemprop="channelId" content="UCzyxwvutsrqponmlkjihgfe">'
    page = read_page(meta, url="https://www.youtube.com/c/franceinfo")
    assert feed_candidates(page)[0] == (
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCzyxwvutsrqponmlkjihgfe"
    )


def test_a_peertube_channel_or_account_gets_its_feed_as_a_candidate() -> None:
    channel = read_page(b"<title>x</title>", url="https://tube.exemple.fr/c/debats/videos")
    assert feed_candidates(channel)[0] == (
        "https://tube.exemple.fr/feeds/videos.xml?videoChannelName=debats"
    )
    account = read_page(b"<title>x</title>", url="https://tube.exemple.fr/a/jeanne")
    assert feed_candidates(account)[0] == (
        "https://tube.exemple.fr/feeds/videos.xml?accountName=jeanne"
    )


def test_html_is_decoded_by_its_declared_charset() -> None:
    body = "<meta charset='windows-1252'><title>Été</title>".encode("cp1252")
    assert decode_html(body) == "<meta charset='windows-1252'><title>Été</title>"
    assert read_page(body, url="https://a.exemple/").title == "Été"
    assert decode_html("é".encode("latin-1"), "text/html; charset=utf-8") == "\ufffd"
    assert decode_html(b"x", "text/html; charset=nonsense") == "x"
