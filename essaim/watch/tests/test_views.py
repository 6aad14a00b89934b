"""HQ's pages of the watch: sources with their health, adding by URL, a source's history and
items (rendered as the hostile text they are), OPML import and export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.watch.models import Source
from essaim.watch.services.opml import parse_opml
from essaim.watch.tests.factories import FetchLogFactory, ItemFactory, SourceFactory
from essaim.watch.tests.server import FeedServer, fixture

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_sources_health_in_words(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    SourceFactory.create(title="Blog en forme", items_count=12, last_fetched_at=timezone.now())
    SourceFactory.create(title="Blog en panne", status="failing", last_error="dns_error")
    SourceFactory.create(title="Blog coupé", status="disabled", last_error="http_410")
    SourceFactory.create_batch(5)
    with django_assert_num_queries(5):  # session, user, the counts, the page, the menu badges
        response = hq_client.get(reverse("watch:source_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Blog en panne" in html and "Erreur DNS" in html
    assert "Adresse introuvable sur le site (HTTP 410)" in html
    assert response.context["counts"] == {"ok": 6, "failing": 1, "disabled": 1}
    assert response.context["total"] == 8
    failing = hq_client.get(reverse("watch:source_list"), {"etat": "failing"})
    assert [s.title for s in failing.context["page"].items] == ["Blog en panne"]


def test_an_empty_list_says_what_to_do(hq_client: Client) -> None:
    html = hq_client.get(reverse("watch:source_list")).content.decode()
    assert "Aucune source" in html
    assert reverse("watch:source_add") in html


def test_a_source_page_shows_its_history_and_its_items_escaped(hq_client: Client) -> None:
    source = SourceFactory.create(
        title="<b>Blog</b>", status="failing", last_error="http_503", last_error_message="<i>x</i>"
    )
    ItemFactory.create(
        source=source,
        title='<script>alert("titre")</script>',
        summary="<img src=x onerror=alert(1)>",
        url="",
    )
    ItemFactory.create(source=source, title="Un billet", url="https://blog.exemple.fr/billet/")
    FetchLogFactory.create(source=source, outcome="http_503", http_status=503, message="<u>m</u>")
    FetchLogFactory.create(
        source=source,
        outcome="not_modified",
        http_status=304,
        at=timezone.now() - dt.timedelta(hours=1),
    )
    html = hq_client.get(reverse("watch:source_detail", args=[source.pk])).content.decode()
    assert "&lt;script&gt;alert(&quot;titre&quot;)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Blog" not in html
    assert "<i>x</i>" not in html and "<u>m</u>" not in html
    assert (
        '<a href="https://blog.exemple.fr/billet/" rel="noopener noreferrer nofollow">Un billet</a>'
        in html
    )
    assert "Erreur du serveur (HTTP 503)" in html
    assert "Inchangé (304)" in html


@pytest.fixture
def blog(feed_server: FeedServer) -> FeedServer:
    feed_server.route("/", fixture("blog_home.html"))
    feed_server.route("/feed/", fixture("blog_feed.xml"), content_type="application/rss+xml")
    return feed_server


def test_hq_adds_a_blog_by_its_home_page(hq_client: Client, blog: FeedServer) -> None:
    response = hq_client.post(
        reverse("watch:source_add"),
        {"url": blog.url("/"), "camp": "allié", "media_type": "blog", "zone": "93"},
        follow=True,
    )
    source = Source.objects.get()
    assert response.redirect_chain == [(reverse("watch:source_detail", args=[source.pk]), 302)]
    html = response.content.decode()
    assert f"Flux trouvé sur la page {blog.url('/')} : {blog.url('/feed/')}." in html
    assert (source.url, source.camp, source.media_type, source.zone) == (
        blog.url("/feed/"),
        "allié",
        "blog",
        "93",
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("javascript:alert(1)", "seules les adresses http et https sont suivies"),
        ("http://10.0.0.1/", "est interne ou réservée"),
    ],
)
def test_an_address_that_cannot_be_added_says_why_and_adds_nothing(
    hq_client: Client, url: str, says: str
) -> None:
    response = hq_client.post(reverse("watch:source_add"), {"url": url})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert Source.objects.count() == 0


def test_hq_disables_and_enables_a_source(hq_client: Client) -> None:
    source = SourceFactory.create(status="failing", failure_score=2.5, last_error="timeout")
    hq_client.post(reverse("watch:source_disable", args=[source.pk]))
    source.refresh_from_db()
    assert (source.status, source.last_error) == ("disabled", "disabled_by_hq")
    before = timezone.now()
    hq_client.post(reverse("watch:source_enable", args=[source.pk]))
    source.refresh_from_db()
    assert (source.status, source.failure_score, source.last_error) == ("ok", 0.0, "")
    assert source.next_poll_at >= before


def test_hq_imports_an_opml_file(hq_client: Client) -> None:
    upload = SimpleUploadedFile("abonnements.opml", fixture("subscriptions.opml"))
    response = hq_client.post(
        reverse("watch:opml_import"), {"file": upload, "zone": "national"}, follow=True
    )
    assert "3 sources importées · 1 déjà suivie" in response.content.decode()
    assert Source.objects.count() == 3


def test_a_malformed_opml_file_is_refused_and_imports_nothing(hq_client: Client) -> None:
    upload = SimpleUploadedFile("casse.opml", fixture("malformed.opml"))
    response = hq_client.post(reverse("watch:opml_import"), {"file": upload})
    assert response.status_code == 200
    assert "pas un OPML lisible (erreur ligne 7" in response.content.decode()
    assert Source.objects.count() == 0


def test_hq_exports_the_sources_as_opml(hq_client: Client) -> None:
    SourceFactory.create(url="https://jeanne.exemple.fr/feed/", title="Jeanne")
    response = hq_client.get(reverse("watch:opml_export"))
    assert response["Content-Type"] == "text/x-opml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="essaim-sources.opml"'
    [entry] = parse_opml(response.content, max_entries=10)
    assert (entry.url, entry.title) == ("https://jeanne.exemple.fr/feed/", "Jeanne")


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_coordinators_and_volunteers_cannot_add_nor_disable(
    request: pytest.FixtureRequest, who: str
) -> None:
    client = request.getfixturevalue(who)
    source = SourceFactory.create()
    assert client.get(reverse("watch:source_list")).status_code == 403
    assert (
        client.post(reverse("watch:source_add"), {"url": "https://a.exemple.fr/"}).status_code
        == 403
    )
    assert client.post(reverse("watch:source_disable", args=[source.pk])).status_code == 403
    source.refresh_from_db()
    assert (Source.objects.count(), source.status) == (1, "ok")
