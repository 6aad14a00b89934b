"""The watch over JSON: HQ's tokens list and add sources and read items; nobody else."""

from __future__ import annotations

import pytest

from essaim.accounts.models import User
from essaim.api.testing import Api, api_for
from essaim.watch.models import Source
from essaim.watch.tests.factories import FetchLogFactory, ItemFactory, SourceFactory
from essaim.watch.tests.server import FeedServer, fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def test_hq_lists_sources_with_their_health_a_page_at_a_time(hq_api: Api) -> None:
    first = SourceFactory.create(title="Un")
    second = SourceFactory.create(title="Deux", status="failing", last_error="timeout")
    page = hq_api.get("/api/v1/watch/sources", limit=1).json()
    assert [s["title"] for s in page["items"]] == ["Deux"]
    assert (page["items"][0]["last_error"], page["items"][0]["last_error_text"]) == (
        "timeout",
        "Délai dépassé",
    )
    assert page["next"] == second.pk
    rest = hq_api.get("/api/v1/watch/sources", limit=1, after=page["next"]).json()
    assert ([s["id"] for s in rest["items"]], rest["next"]) == ([first.pk], None)
    failing = hq_api.get("/api/v1/watch/sources", status="failing").json()
    assert [s["id"] for s in failing["items"]] == [second.pk]


def test_a_source_comes_with_its_history_and_its_items(hq_api: Api) -> None:
    source = SourceFactory.create()
    FetchLogFactory.create(source=source, outcome="ok", http_status=200, new_items=2)
    items = ItemFactory.create_batch(2, source=source, links=["https://mairie.exemple.fr/"])
    ItemFactory.create()  # another source's
    detail = hq_api.get(f"/api/v1/watch/sources/{source.pk}").json()
    assert [(h["outcome"], h["new_items"]) for h in detail["history"]] == [("ok", 2)]
    listed = hq_api.get("/api/v1/watch/items", source=source.pk).json()
    assert [i["id"] for i in listed["items"]] == [items[1].pk, items[0].pk]
    one = hq_api.get(f"/api/v1/watch/items/{items[0].pk}").json()
    assert (one["title"], one["source"], one["links"]) == (
        items[0].title,
        source.pk,
        ["https://mairie.exemple.fr/"],
    )
    assert hq_api.get("/api/v1/watch/sources/999999").status_code == 404
    assert hq_api.get("/api/v1/watch/items", source=999999).status_code == 404


def test_hq_adds_a_blog_by_its_home_page_then_it_is_known(
    hq_api: Api, feed_server: FeedServer
) -> None:
    feed_server.route("/", fixture("blog_home.html"))
    feed_server.route("/feed/", fixture("blog_feed.xml"), content_type="application/rss+xml")
    response = hq_api.post(
        "/api/v1/watch/sources", {"url": feed_server.url("/"), "media_type": "blog"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["how"], body["url"], body["found_on"], body["media_type"]) == (
        True,
        "discovered",
        feed_server.url("/feed/"),
        feed_server.url("/"),
        "blog",
    )
    again = hq_api.post("/api/v1/watch/sources", {"url": feed_server.url("/feed/")})
    assert (again.status_code, again.json()["how"], again.json()["id"]) == (
        200,
        "known",
        body["id"],
    )


@pytest.mark.parametrize(
    ("url", "code"),
    [("ftp://exemple.fr/", "bad_url"), ("http://127.0.0.1/", "forbidden_address")],
)
def test_an_address_that_cannot_be_added_is_422_with_its_code(
    hq_api: Api, url: str, code: str
) -> None:
    response = hq_api.post("/api/v1/watch/sources", {"url": url})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert Source.objects.count() == 0


def test_an_unknown_media_type_is_422(hq_api: Api) -> None:
    response = hq_api.post(
        "/api/v1/watch/sources", {"url": "https://a.exemple.fr/", "media_type": "tv"}
    )
    assert response.status_code == 422
    assert Source.objects.count() == 0


def test_volunteers_coordinators_and_read_only_tokens_add_nothing(
    volunteer_api: Api, coordinator_api: Api, hq_admin: User
) -> None:
    read_only = api_for(hq_admin, scopes=["read"])
    for client, status in ((volunteer_api, 403), (coordinator_api, 403), (read_only, 403)):
        response = client.post("/api/v1/watch/sources", {"url": "https://a.exemple.fr/"})
        assert response.status_code == status
    assert volunteer_api.get("/api/v1/watch/sources").status_code == 403
    assert Source.objects.count() == 0
