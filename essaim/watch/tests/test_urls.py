"""One page, one identity: the spellings of a URL that designate the same page share a key, and
addresses the watch cannot follow are refused with a reason."""

from __future__ import annotations

import pytest

from essaim.watch.services.urls import InvalidURL, clean_url, url_key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # Scheme and host in lower case, default port and fragment dropped, path kept as is.
        ("HTTPS://Blog.Exemple.FR:443/Billet/#commentaires", "https://blog.exemple.fr/Billet/"),
        ("http://blog.exemple.fr:80", "http://blog.exemple.fr/"),
        ("http://blog.exemple.fr:8080/a", "http://blog.exemple.fr:8080/a"),
        # Tracking parameters go, the others stay in their order.
        (
            "https://lemonde.exemple/article?utm_source=tw&id=3&fbclid=abc&gclid=x&xtor=RSS-1&b=2",
            "https://lemonde.exemple/article?id=3&b=2",
        ),
        ("https://a.exemple/?at_medium=rss&at_campaign=x&mtm_kwd=y", "https://a.exemple/"),
        # Escapes: upper case, unreserved characters unescaped, others escaped.
        ("https://a.exemple/%7euser/%c3%a9t%C3%A9 2", "https://a.exemple/~user/%C3%A9t%C3%A9%202"),
        ("https://a.exemple/é", "https://a.exemple/%C3%A9"),
        # International host names in IDNA.
        ("https://élysée.exemple/", "https://xn--lyse-9oad.exemple/"),
        # Relative references resolve against the page.
        ("/feed/", "https://blog.exemple.fr/feed/"),
    ],
)
def test_clean_url_tidies_without_changing_the_page(raw: str, clean: str) -> None:
    assert clean_url(raw, base="https://blog.exemple.fr/2027/03/billet/") == clean


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "javascript:alert(1)",
        "ftp://ftp.exemple.fr/",
        "file:///etc/passwd",
        "mailto:x@exemple.fr",
        "https://user:secret@blog.exemple.fr/",
        "https://user@blog.exemple.fr/",
        "https:///chemin",
        "https://blog.exemple.fr:99999/",
        "https://bad_host!.exemple/",
        "https://blog.exemple.fr/\n/x",
        "https://blog.exemple.fr/" + "a" * 2000,
        "pas une adresse",
    ],
)
def test_addresses_the_watch_cannot_follow_are_refused(raw: str) -> None:
    with pytest.raises(InvalidURL):
        clean_url(raw)


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.lemonde.exemple/politique/article-1.html",
        "http://lemonde.exemple/politique/article-1.html",
        "https://m.lemonde.exemple/politique/article-1.html?utm_source=twitter",
        "https://mobile.lemonde.exemple/politique/article-1.html#haut",
        "https://lemonde.exemple/politique/article-1.html/",
        "https://lemonde.exemple/amp/politique/article-1.html",
        "https://lemonde.exemple/politique/article-1.html/amp/",
        "https://lemonde.exemple/politique/article-1.amp.html",
        "https://amp.lemonde.exemple/politique/article-1.html?amp=1",
        "https://LEMONDE.exemple:443/politique/article-1.html?outputType=amp",
        "https://www.google.com/amp/s/www.lemonde.exemple/politique/article-1.html",
        "https://lemonde-exemple.cdn.ampproject.org/c/s/lemonde.exemple/politique/article-1.html",
    ],
)
def test_the_renderings_of_one_article_share_one_key(variant: str) -> None:
    assert url_key(variant) == "https://lemonde.exemple/politique/article-1.html"


def test_query_order_does_not_make_another_page_but_values_do() -> None:
    assert url_key("https://a.exemple/p?b=2&a=1") == url_key("https://a.exemple/p?a=1&b=2")
    assert url_key("https://a.exemple/p?a=1") != url_key("https://a.exemple/p?a=2")
    # The path's case is the site's business: kept.
    assert url_key("https://a.exemple/Page") != url_key("https://a.exemple/page")


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ&feature=share&t=42",
        "https://m.youtube.com/watch?app=desktop&v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=AbCdEf",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=shared",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDx",
    ],
)
def test_every_spelling_of_a_youtube_video_gives_one_canonical_form(variant: str) -> None:
    assert url_key(variant) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_youtube_ids_are_kept_exactly_their_case_included() -> None:
    assert url_key("https://youtu.be/dQw4w9WgXcQ") != url_key("https://youtu.be/DQW4W9WGXCQ")
    assert url_key("https://youtu.be/DQW4W9WGXCQ") == "https://www.youtube.com/watch?v=DQW4W9WGXCQ"
    assert (
        url_key("https://www.youtube.com/playlist?list=PLabc_DEF-123&si=x")
        == "https://www.youtube.com/playlist?list=PLabc_DEF-123"
    )


def test_a_dailymotion_video_has_one_form() -> None:
    canonical = "https://www.dailymotion.com/video/x8abc12"
    assert url_key("https://dai.ly/x8abc12") == canonical
    assert url_key("https://www.dailymotion.com/video/x8abc12_un-titre") == canonical
