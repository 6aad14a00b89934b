"""Server-side sorting: `?tri=` is checked against the table's whitelist (anything else is the
default order, never an error and never SQL), text sorts in French order on both databases,
and keyset pages in any order neither skip nor repeat a row, ties included."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.db.models.functions import Lower
from django.test import RequestFactory

from essaim.accounts.models import Team
from essaim.lib.pagination import keyset_page
from essaim.lib.sorting import SortColumn, sorting_from

COLUMNS = (
    SortColumn("nom", "name", text=True),
    SortColumn("dep", "departement"),
    SortColumn("creee", "created_at", descending_first=True),
)
rf = RequestFactory()


def sorting(**params: str):
    return sorting_from(rf.get("/equipes/", params), COLUMNS, "-creee")


def test_a_listed_column_sorts_ascending_and_a_minus_descending():
    assert (sorting(tri="nom").key, sorting(tri="nom").descending) == ("nom", False)
    assert (sorting(tri="-nom").key, sorting(tri="-nom").descending) == ("nom", True)
    assert sorting(tri="-dep").value == "-dep"


@pytest.mark.parametrize(
    "raw",
    ["", "name", "Nom", "nom;DROP TABLE accounts_team", "--nom", "-", "pk", "created_at", "nom "],
)
def test_anything_else_is_the_default_order(raw):
    chosen = sorting(tri=raw)
    assert (chosen.key, chosen.descending, chosen.value) == ("creee", True, "-creee")


def test_headers_keep_the_other_parameters_drop_the_cursor_and_say_the_order():
    chosen = sorting(tri="nom", q="paris", after="12", before="40")
    nom, creee = chosen.headers["nom"], chosen.headers["creee"]
    # The current column offers the other direction; another column its first direction.
    assert (nom.aria_sort, nom.next_descending) == ("ascending", True)
    assert parse_qs(nom.query) == {"q": ["paris"], "tri": ["-nom"]}
    assert (creee.aria_sort, creee.next_descending) == ("", True)
    assert parse_qs(creee.query) == {"q": ["paris"], "tri": ["-creee"]}
    assert parse_qs(chosen.headers["dep"].query) == {"q": ["paris"], "tri": ["dep"]}
    assert sorting(tri="-nom").headers["nom"].aria_sort == "descending"


@pytest.mark.django_db
def test_text_sorts_in_french_order_on_this_database():
    names = ["Occitanie", "île de loisirs", "Normandie", "Équipe Zola", "alpha", "Hauts-de-France"]
    for name in names:
        Team.objects.create(name=name)
    ordered = [t.name for t in sorting(tri="nom").apply(Team.objects.all())]
    assert ordered == [
        "alpha",
        "Équipe Zola",
        "Hauts-de-France",
        "île de loisirs",
        "Normandie",
        "Occitanie",
    ]
    descending = [t.name for t in sorting(tri="-nom").apply(Team.objects.all())]
    assert descending == list(reversed(ordered))


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["dep", "-dep", "nom", "-nom", "-creee"])
def test_keyset_pages_in_any_order_neither_skip_nor_repeat_a_row_with_ties(order):
    # Four départements for eleven teams: most rows tie on the sort value.
    for i in range(11):
        Team.objects.create(name=f"Équipe {i:02d}", departement=["75", "69", "13", "2A"][i % 4])
    chosen = sorting(tri=order)
    expected = [t.pk for t in chosen.apply(Team.objects.all())]
    seen, cursor = [], None
    while True:
        params = {"tri": order} | ({"after": str(cursor)} if cursor else {})
        page = keyset_page(Team.objects.all(), rf.get("/", params), size=4, sorting=chosen)
        seen += [t.pk for t in page.items]
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert seen == expected
    # Going back from the last page gives the page before it, in the same order.
    back = keyset_page(
        Team.objects.all(),
        rf.get("/", {"tri": order, "before": str(seen[8])}),
        size=4,
        sorting=chosen,
    )
    assert [t.pk for t in back.items] == expected[4:8]
    assert back.has_prev and back.has_next
    assert not page.newest_first


@pytest.mark.django_db
def test_a_cursor_whose_row_is_gone_gives_the_first_page():
    teams = [Team.objects.create(name=f"T{i}") for i in range(3)]
    chosen = sorting(tri="nom")
    page = keyset_page(Team.objects.all(), rf.get("/", {"after": "999999"}), size=2, sorting=chosen)
    assert [t.pk for t in page.items] == [teams[0].pk, teams[1].pk]
    assert not page.has_prev


@pytest.mark.django_db
def test_an_expression_column_sorts_too():
    Team.objects.create(name="b", departement="75")
    Team.objects.create(name="A", departement="75")
    columns = (SortColumn("nom", Lower("name")),)
    chosen = sorting_from(rf.get("/", {"tri": "-nom"}), columns, "nom")
    assert [t.name for t in chosen.apply(Team.objects.all())] == ["b", "A"]
