"""Watchlists over JSON: HQ's tokens create, change and delete them; coordinators' tokens read
them and their matches; a bad query is a 422 that says where; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.api.testing import Api
from essaim.watch.models import Watchlist, WatchlistMatch
from essaim.watch.services.search import index_items
from essaim.watch.tests.factories import ItemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

URL = "/api/v1/watch/watchlists"


def snapshot() -> list[tuple[Any, ...]]:
    return list(Watchlist.objects.order_by("id").values_list("id", "name", "query", "active"))


def test_hq_creates_reads_changes_and_deletes_a_watchlist(
    hq_api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory.create(title="Entretien avec Lefèvre", summary="")
    with django_capture_on_commit_callbacks(execute=True):
        created = hq_api.post(
            URL, {"name": "Adversaires", "kind": "names", "query": "lefevre", "labels": ["a", "a"]}
        )
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["kind"], body["query"], body["labels"], body["active"]) == (
        "Adversaires",
        "names",
        "lefevre",
        ["a"],
        True,
    )
    assert body["backfilled_at"] is None  # as it was answered; the review ran after the commit
    matches = hq_api.get(f"{URL}/{body['id']}/matches").json()
    assert [(m["item"]["id"], m["terms"]) for m in matches["items"]] == [(item.pk, ["lefevre"])]
    changed = hq_api.request("patch", f"{URL}/{body['id']}", {"active": False})
    assert (changed.status_code, changed.json()["active"], changed.json()["query"]) == (
        200,
        False,
        "lefevre",
    )
    assert hq_api.delete(f"{URL}/{body['id']}").status_code == 204
    assert Watchlist.objects.count() == 0
    assert WatchlistMatch.objects.count() == 0
    assert hq_api.get(f"{URL}/{body['id']}").status_code == 404


def test_a_bad_query_is_a_422_with_its_position(hq_api: Api) -> None:
    response = hq_api.post(URL, {"name": "X", "kind": "topics", "query": "a NEAR/2 (b OR c)"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "bad_query"
    assert error["details"] == [
        {
            "field": "query",
            "message": "NEAR/2 relie deux mots ou deux « phrases », pas un groupe ni un filtre.",
            "position": 9,
        }
    ]
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    patched = hq_api.request("patch", f"{URL}/{watchlist.pk}", {"query": "NOT x"})
    assert patched.status_code == 422
    assert snapshot() == [(watchlist.pk, "A", "Dupont", True)]


def test_a_coordinator_reads_but_does_not_write(coordinator_api: Api) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    assert [w["id"] for w in coordinator_api.get(URL).json()["items"]] == [watchlist.pk]
    assert coordinator_api.get(f"{URL}/{watchlist.pk}/matches").json() == {
        "items": [],
        "next": None,
    }
    before = snapshot()
    refused = [
        coordinator_api.post(URL, {"name": "B", "kind": "names", "query": "x"}).status_code,
        coordinator_api.request("patch", f"{URL}/{watchlist.pk}", {"name": "B"}).status_code,
        coordinator_api.delete(f"{URL}/{watchlist.pk}").status_code,
    ]
    assert refused == [403, 403, 403]
    assert snapshot() == before


def test_a_volunteer_reads_nothing(volunteer_api: Api) -> None:
    Watchlist.objects.create(name="A", kind="names", query="Dupont")
    assert volunteer_api.get(URL).status_code == 403


def test_items_are_searchable_through_the_api(hq_api: Api) -> None:
    item = ItemFactory.create(title="Les élections à l’Assemblée", summary="")
    ItemFactory.create(title="Autre", summary="")
    index_items([item.pk, item.pk + 1])
    found = hq_api.get("/api/v1/watch/items", q="election assemblee").json()
    assert [i["id"] for i in found["items"]] == [item.pk]
