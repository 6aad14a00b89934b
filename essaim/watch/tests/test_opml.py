"""OPML in and out: a file is imported whole or refused whole, and an export reads back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from essaim.accounts.models import User
from essaim.watch.models import Source
from essaim.watch.services.opml import OpmlError, build_opml, parse_opml
from essaim.watch.services.sources import Labels, export_opml, import_opml
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.tests.server import fixture


def test_an_opml_file_gives_every_outline_with_a_feed_or_a_page() -> None:
    entries = parse_opml(fixture("subscriptions.opml"), max_entries=100)
    assert [(e.url, e.kind, e.title, e.labels) for e in entries] == [
        (
            "https://jeanne-martin.exemple.fr/feed/",
            "feed",
            "Le blog de Jeanne Martin",
            {"camp": "allié", "media": "blog", "zone": "93"},
        ),
        ("https://actu-montreuil.exemple.fr/atom.xml", "feed", "Actu Montreuil", {}),
        (
            "http://www.jeanne-martin.exemple.fr/feed",
            "feed",
            "Le blog de Jeanne Martin (doublon)",
            {},
        ),
        ("https://candidat.exemple.fr/programme/", "page", "Programme du candidat", {}),
    ]
    assert entries[0].site_url == "https://jeanne-martin.exemple.fr/"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (fixture("malformed.opml"), "erreur ligne 7"),
        (b"", "n'est pas un OPML lisible"),
        (b"<html><body>Bonjour</body></html>", "n'a pas d'élément <opml>"),
        (fixture("billion_laughs.xml").replace(b"<rss", b"<opml", 1), "entités XML"),
        (fixture("external_entity.xml"), "entités XML"),
        (
            '<opml version="2.0"><body><outline xmlUrl="javascript:alert(1)" text="Piège"/>'
            '<outline xmlUrl="https://ok.exemple.fr/feed"/></body></opml>'.encode(),
            "1 source a une adresse que la veille ne peut pas suivre : Piège",
        ),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(data: bytes, says: str) -> None:
    with pytest.raises(OpmlError) as refused:
        parse_opml(data, max_entries=100)
    assert says in str(refused.value)


def test_too_many_outlines_are_refused() -> None:
    outlines = "".join(f'<outline xmlUrl="https://b{n}.exemple.fr/feed"/>' for n in range(11))
    with pytest.raises(OpmlError) as refused:
        parse_opml(f"<opml><body>{outlines}</body></opml>".encode(), max_entries=10)
    assert "plus de 10 sources" in str(refused.value)


def test_import_adds_what_is_new_once_and_leaves_what_is_known(db: Any, hq: User) -> None:
    SourceFactory.create(url="https://actu-montreuil.exemple.fr/atom.xml", title="Déjà là")
    imported = import_opml(fixture("subscriptions.opml"), by=hq, labels=Labels(zone="national"))
    # The doublon (http, www, no trailing slash) is the same feed as the first outline.
    assert (imported.created, imported.known) == (2, 2)
    rows = Source.objects.order_by("id").values_list(
        "url", "kind", "title", "camp", "media_type", "zone", "status", "created_by"
    )
    assert list(rows)[1:] == [
        (
            "https://jeanne-martin.exemple.fr/feed/",
            "feed",
            "Le blog de Jeanne Martin",
            "allié",
            "blog",
            "93",
            "ok",
            hq.pk,
        ),
        (
            "https://candidat.exemple.fr/programme/",
            "page",
            "Programme du candidat",
            "",
            "",
            "national",
            "ok",
            hq.pk,
        ),
    ]
    assert Source.objects.get(title="Déjà là").zone == "75"


def test_a_refused_file_imports_nothing(db: Any, hq: User) -> None:
    data = fixture("subscriptions.opml").replace(
        b"https://candidat.exemple.fr/programme/", b"file:///etc/passwd"
    )
    with pytest.raises(OpmlError):
        import_opml(data, by=hq)
    assert Source.objects.count() == 0


def test_an_export_reads_back_with_its_labels(db: Any) -> None:
    SourceFactory.create(
        url="https://jeanne.exemple.fr/feed/",
        title='Jeanne & "les autres" <b>',
        site_url="https://jeanne.exemple.fr/",
        camp="allié",
        party="Les Verts, Écologistes",
        media_type="blog",
        zone="93",
    )
    SourceFactory.create(
        url="https://candidat.exemple.fr/programme/",
        kind="page",
        title="Programme\x07",
        media_type="",
    )
    data = export_opml()
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">")
    entries = parse_opml(data, max_entries=100)
    assert [(e.url, e.kind, e.title, e.site_url, e.labels) for e in entries] == [
        (
            "https://jeanne.exemple.fr/feed/",
            "feed",
            'Jeanne & "les autres"',
            "https://jeanne.exemple.fr/",
            {"camp": "allié", "party": "Les Verts Écologistes", "media": "blog", "zone": "93"},
        ),
        ("https://candidat.exemple.fr/programme/", "page", "Programme", "", {"zone": "75"}),
    ]


def test_build_opml_dates_the_file() -> None:
    data = build_opml([], title="Vide", now=dt.datetime(2027, 3, 10, 12, tzinfo=dt.UTC))
    assert b"<dateCreated>Wed, 10 Mar 2027 12:00:00 +0000</dateCreated>" in data
