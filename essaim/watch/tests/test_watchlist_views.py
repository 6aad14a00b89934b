"""The watchlists' pages: HQ creates, edits and deletes; coordinators and active veilleurs read,
try queries and search; anyone else is refused and changes nothing. Text from the web is
escaped, highlights included."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.army.models import Stage
from essaim.army.tests.factories import make_volunteer
from essaim.watch.models import Watchlist, WatchlistMatch
from essaim.watch.services.search import index_items
from essaim.watch.tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def veilleur_client() -> Client:
    return client_of(make_volunteer("veilleur@equipe.test", roles={"veilleur": Stage.ACTIVE}).user)


@pytest.fixture
def lapsed_veilleur_client() -> Client:
    return client_of(make_volunteer("ancien@equipe.test", roles={"veilleur": Stage.LAPSED}).user)


def snapshot() -> list[tuple[Any, ...]]:
    return list(Watchlist.objects.order_by("id").values_list("id", "name", "query", "active"))


def test_hq_creates_a_watchlist_and_its_recent_matches_are_found(
    hq_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    ItemFactory.create(title="Les retraites à 64 ans", summary="")
    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            reverse("watch:watchlist_create"),
            {
                "name": "Retraites",
                "kind": "topics",
                "query": "retraite",
                "labels": "social, Social, éco",
                "active": "on",
            },
        )
    watchlist = Watchlist.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("watch:watchlist_detail", args=[watchlist.pk])
    assert (watchlist.name, watchlist.kind, watchlist.labels, watchlist.active) == (
        "Retraites",
        "topics",
        ["social", "éco"],
        True,
    )
    assert watchlist.matches.count() == 1  # the backfill task ran (immediate in tests)


def test_a_bad_query_comes_back_with_the_parsers_message(hq_client: Client) -> None:
    response = hq_client.post(
        reverse("watch:watchlist_create"),
        {"name": "X", "kind": "names", "query": "(Dupont OR Martin", "active": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["query"] == [
        "Parenthèse ouverte mais jamais fermée. (position 1)"
    ]
    assert Watchlist.objects.count() == 0


def test_hq_edits_a_watchlist_and_the_matches_follow_the_new_query(
    hq_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    martin = ItemFactory.create(title="Martin parle", summary="")
    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            reverse("watch:watchlist_edit", args=[watchlist.pk]),
            {"name": "B", "kind": "names", "query": "Martin", "labels": "", "active": "on"},
        )
    assert response.status_code == 302
    watchlist.refresh_from_db()
    assert (watchlist.name, watchlist.query) == ("B", "Martin")
    assert list(watchlist.matches.values_list("item_id", flat=True)) == [martin.pk]


def test_delete_asks_first_then_deletes_with_its_matches(hq_client: Client) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    item = ItemFactory.create()
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["Dupont"])
    url = reverse("watch:watchlist_delete", args=[watchlist.pk])
    page = hq_client.get(url)
    assert page.status_code == 200
    assert "Supprimer la liste « A » ?" in page.content.decode()
    fragment = hq_client.get(url, headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith('<form method="post"')
    assert hq_client.post(url).status_code == 200  # no confirm=1: asks again
    assert Watchlist.objects.count() == 1
    response = hq_client.post(url, {"confirm": "1"})
    assert response.status_code == 302
    assert Watchlist.objects.count() == 0
    assert WatchlistMatch.objects.count() == 0
    assert item.__class__.objects.filter(pk=item.pk).exists()


def test_the_detail_lists_the_matches_escaped(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    for n in range(5):
        item = ItemFactory.create(title=f'<script>alert("{n}")</script> Dupont', summary="<b>x</b>")
        WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["Dupont"])
    with django_assert_num_queries(5):  # session, user, the watchlist, the page, the menu badges
        response = hq_client.get(reverse("watch:watchlist_detail", args=[watchlist.pk]))
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;4&quot;)&lt;/script&gt; Dupont" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_test_box_shows_matches_with_escaped_highlights(veilleur_client: Client) -> None:
    ItemFactory.create(title="<img src=x onerror=alert(1)> Lefèvre répond", summary="")
    ItemFactory.create(title="Autre chose", summary="")
    response = veilleur_client.get(
        reverse("watch:watchlist_test"),
        {"kind": "names", "query": "lefevre"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="test-result"')
    assert "1 élément trouvé." in html
    assert '&lt;img src=x onerror=alert(1)&gt; <mark class="hit">Lefèvre</mark> répond' in html
    assert "<img" not in html


def test_the_test_box_points_at_the_error(veilleur_client: Client) -> None:
    response = veilleur_client.get(
        reverse("watch:watchlist_test"),
        {"kind": "topics", "query": "a OR <b>)"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Parenthèse fermante sans parenthèse ouvrante." in html
    assert '<code>a OR &lt;b&gt;<mark class="error-at">)</mark></code>' in html


def test_the_test_box_without_script_renders_the_whole_page(coordinator_client: Client) -> None:
    ItemFactory.create(title="Les retraites", summary="")
    response = coordinator_client.get(
        reverse("watch:watchlist_test"), {"kind": "topics", "query": "retraites"}
    )
    assert response.status_code == 200
    assert "1 élément trouvé." in response.content.decode()
    assert "Listes de veille" in response.content.decode()


def test_search_finds_items_french_aware(coordinator_client: Client) -> None:
    item = ItemFactory.create(title="Élections : l’Assemblée vote", summary="")
    index_items([item.pk])
    response = coordinator_client.get(reverse("watch:item_search"), {"q": "election assemblee"})
    assert response.status_code == 200
    assert [found.pk for found in response.context["page"].items] == [item.pk]


def test_readers_see_no_management_links(coordinator_client: Client) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    html = coordinator_client.get(reverse("watch:watchlist_list")).content.decode()
    assert "Nouvelle liste" not in html
    assert reverse("watch:watchlist_edit", args=[watchlist.pk]) not in html
    html = coordinator_client.get(
        reverse("watch:watchlist_detail", args=[watchlist.pk])
    ).content.decode()
    assert reverse("watch:watchlist_delete", args=[watchlist.pk]) not in html


@pytest.mark.parametrize("who", ["coordinator_client", "veilleur_client", "volunteer_client"])
def test_only_hq_writes_and_refusals_change_nothing(who: str, request: Any) -> None:
    client: Client = request.getfixturevalue(who)
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    before = snapshot()
    create = client.post(
        reverse("watch:watchlist_create"),
        {"name": "B", "kind": "names", "query": "X", "active": "on"},
    )
    edit = client.post(
        reverse("watch:watchlist_edit", args=[watchlist.pk]),
        {"name": "B", "kind": "names", "query": "X", "active": "on"},
    )
    delete = client.post(reverse("watch:watchlist_delete", args=[watchlist.pk]), {"confirm": "1"})
    assert (create.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["volunteer_client", "lapsed_veilleur_client"])
def test_other_volunteers_cannot_read(who: str, request: Any) -> None:
    client: Client = request.getfixturevalue(who)
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    for url in (
        reverse("watch:watchlist_list"),
        reverse("watch:watchlist_detail", args=[watchlist.pk]),
        reverse("watch:watchlist_test") + "?kind=names&query=x",
        reverse("watch:item_search") + "?q=x",
    ):
        assert client.get(url).status_code == 403, url


def test_an_active_veilleur_reads(veilleur_client: Client) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    assert veilleur_client.get(reverse("watch:watchlist_list")).status_code == 200
    assert (
        veilleur_client.get(reverse("watch:watchlist_detail", args=[watchlist.pk])).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("a NEAR/١٢ b", "La distance de NEAR/١٢ va de 1 à 100 mots."),
        ("a NEAR/" + "9" * 30 + " b", "va de 1 à 100 mots."),
        ("source:² a", None),
        ("source:③ a", None),
        ("source:١٢٣ a", None),
        ("source:" + "9" * 30 + " a", None),
    ],
)
def test_the_test_box_takes_numbers_in_other_digits_without_an_error_page(
    veilleur_client: Client, query: str, error: str | None
) -> None:
    response = veilleur_client.get(
        reverse("watch:watchlist_test"),
        {"kind": "topics", "query": query},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    if error:
        assert error in html
    else:
        assert 'class="error-at"' not in html
