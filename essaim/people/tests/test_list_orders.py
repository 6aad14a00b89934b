"""Orders people read lists in: the segment builder's régions in French order (Île-de-France
among the I, not after every other), and the imports list sorted on the server by the column
clicked (`?tri=`, checked against its columns), with an empty state when there is none."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.lib.text import french_sort_key
from essaim.people.models import ImportBatch

pytestmark = pytest.mark.django_db


def test_the_segment_builder_lists_regions_in_french_order(hq_client: Client) -> None:
    form = hq_client.get(reverse("people:segment_create")).context["form"]
    names = [label for _code, label in form.fields["regions"].choices]
    assert names.index("Hauts-de-France") < names.index("Île-de-France")
    assert names.index("Île-de-France") < names.index("Normandie")
    assert names[:3] == ["Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne"]
    assert names == sorted(names, key=french_sort_key)


def batch(name: str, status: str, imported: int, days: int, **fields: object) -> ImportBatch:
    return ImportBatch.objects.create(
        filename=name,
        path="",
        basis="membership",
        purposes=["news"],
        source="test",
        size=1,
        status=status,
        imported=imported,
        created_at=timezone.now() - dt.timedelta(days=days),
        **fields,
    )


def files(client: Client, tri: str | None = None) -> list[str]:
    response = client.get(reverse("people:import_list"), {"tri": tri} if tri else {})
    assert response.status_code == 200
    return [b.filename for b in response.context["page"].items]


def test_imports_sort_by_each_column_and_ignore_unknown_orders(hq_client: Client) -> None:
    # Created out of date order, as a back-dated demo writes them.
    batch("salon.csv", "done", 1200, 2)
    batch("Adhérents.csv", "failed", 0, 5)
    batch("élus.csv", "running", 40, 1)
    assert files(hq_client) == ["élus.csv", "salon.csv", "Adhérents.csv"]
    assert files(hq_client, "date") == ["Adhérents.csv", "salon.csv", "élus.csv"]
    assert files(hq_client, "fichier") == ["Adhérents.csv", "élus.csv", "salon.csv"]
    assert files(hq_client, "-importes") == ["salon.csv", "élus.csv", "Adhérents.csv"]
    assert files(hq_client, "etat") == ["élus.csv", "salon.csv", "Adhérents.csv"]
    for bogus in ("filename", "-imported", "date)--"):
        assert files(hq_client, bogus) == ["élus.csv", "salon.csv", "Adhérents.csv"]
    html = hq_client.get(reverse("people:import_list"), {"tri": "-importes"}).content.decode()
    assert '<th scope="col" aria-sort="descending" class="num"><a class="sort"' in html
    assert '<td class="num">1\u202f200</td>' in html


def test_no_import_shows_the_way_to_make_one(hq_client: Client) -> None:
    html = hq_client.get(reverse("people:import_list")).content.decode()
    assert '<p class="empty-title">Aucun import pour l\'instant</p>' in html
    assert f'href="{reverse("people:import_upload")}"' in html
