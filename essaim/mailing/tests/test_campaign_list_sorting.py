"""The campaigns list sorts on the server by the column clicked (`?tri=`, checked against its
columns: anything else is the newest first), and says what to do when there is no campaign."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.mailing.models import Campaign
from essaim.mailing.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
LIST = reverse("mailing:campaign_list")


def names(client: Client, tri: str | None = None) -> list[str]:
    response = client.get(LIST, {"tri": tri} if tri is not None else {})
    assert response.status_code == 200
    return [c.name for c in response.context["campaigns"]]


@pytest.fixture
def campaigns(db: object) -> None:
    now = timezone.now()
    rows = [
        ("Relance", Campaign.Status.DONE, 48210, 3),
        ("appel", Campaign.Status.SENDING, 220000, 2),
        ("Élan", Campaign.Status.DRAFT, None, 1),
        ("Zénith", Campaign.Status.SCHEDULED, 48210, 0),
    ]
    for name, status, audience, days in rows:
        CampaignFactory.create(
            name=name,
            status=status,
            audience_count=audience,
            created_at=now - dt.timedelta(days=days),
        )


@pytest.mark.usefixtures("campaigns")
def test_each_column_sorts_both_ways(hq_client: Client) -> None:
    assert names(hq_client) == ["Zénith", "Élan", "appel", "Relance"]
    assert names(hq_client, "cree") == ["Relance", "appel", "Élan", "Zénith"]
    assert names(hq_client, "nom") == ["appel", "Élan", "Relance", "Zénith"]
    assert names(hq_client, "-nom") == ["Zénith", "Relance", "Élan", "appel"]
    # By lifecycle: draft, scheduled, sending, …, done.
    assert names(hq_client, "etat") == ["Élan", "Zénith", "appel", "Relance"]
    # Ties (48 210 twice) in their order of creation, in the same direction; a draft's unknown
    # audience last.
    assert names(hq_client, "-destinataires") == ["appel", "Zénith", "Relance", "Élan"]
    assert names(hq_client, "destinataires") == ["Élan", "Relance", "Zénith", "appel"]


@pytest.mark.usefixtures("campaigns")
@pytest.mark.parametrize("bogus", ["name", "-created_at", "nom'--", "x" * 500, "status"])
def test_an_unknown_order_is_the_default_one(hq_client: Client, bogus: str) -> None:
    assert names(hq_client, bogus) == ["Zénith", "Élan", "appel", "Relance"]


@pytest.mark.usefixtures("campaigns")
def test_headers_link_each_order_and_mark_the_current_one(hq_client: Client) -> None:
    html = hq_client.get(LIST, {"tri": "nom"}).content.decode()
    assert '<th scope="col" aria-sort="ascending"><a class="sort" href="?tri=-nom">Nom' in html
    assert '<th scope="col" class="num"><a class="sort" href="?tri=-destinataires">' in html
    assert html.count("aria-sort=") == 1


def test_no_campaign_shows_an_empty_state_with_the_way_to_make_one(hq_client: Client) -> None:
    html = hq_client.get(LIST).content.decode()
    assert '<p class="empty-title">Aucune campagne pour l\'instant</p>' in html
    assert f'<a class="button" href="{reverse("mailing:campaign_create")}">' in html
    assert "<table" not in html
