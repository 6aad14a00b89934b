"""The army's lists sort on the server by the column clicked (`?tri=`, checked against each
table's columns: anything else is the table's default order): HQ's missions, HQ's teams, a
team's members. Each says what to do when it is empty."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import Membership, Team
from essaim.army.models import Mission
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db
MISSIONS = reverse("army:missions_run")
TEAMS = reverse("army:team_list")


def titles(client: Client, tri: str | None = None) -> list[str]:
    response = client.get(MISSIONS, {"tri": tri} if tri is not None else {})
    assert response.status_code == 200
    return [m.title for m in response.context["missions"]]


@pytest.fixture
def missions(hq: Any) -> None:
    soon = timezone.now() + dt.timedelta(days=1)
    paris = TeamFactory.create(name="Paris")
    annecy = TeamFactory.create(name="Annecy", departement="74")
    rows = [
        ("Relayer", paris, 3, True),
        ("écrire", None, 1, False),
        ("Bannières", annecy, 2, True),
    ]
    for title, team, days, publish in rows:
        MissionFactory.create(
            by=hq, title=title, team=team, deadline=soon + dt.timedelta(days=days), publish=publish
        )


@pytest.mark.usefixtures("missions")
def test_missions_sort_by_each_column(hq_client: Client) -> None:
    assert titles(hq_client) == ["Bannières", "écrire", "Relayer"]
    assert titles(hq_client, "titre") == ["Bannières", "écrire", "Relayer"]
    assert titles(hq_client, "-titre") == ["Relayer", "écrire", "Bannières"]
    # National first (no team), then the teams in French order.
    assert titles(hq_client, "portee") == ["écrire", "Bannières", "Relayer"]
    assert titles(hq_client, "echeance") == ["écrire", "Bannières", "Relayer"]
    assert titles(hq_client, "-echeance") == ["Relayer", "Bannières", "écrire"]
    # Draft before published; the published ones in their order of creation.
    assert titles(hq_client, "etat") == ["écrire", "Relayer", "Bannières"]
    for bogus in ("title", "deadline", "-", "titre; SELECT 1"):
        assert titles(hq_client, bogus) == ["Bannières", "écrire", "Relayer"]


def test_no_mission_shows_the_way_to_make_one(hq_client: Client) -> None:
    html = hq_client.get(MISSIONS).content.decode()
    assert '<p class="empty-title">Aucune mission pour l\'instant</p>' in html
    assert f'href="{reverse("army:mission_create")}"' in html


def team_names(client: Client, **params: str) -> list[str]:
    response = client.get(TEAMS, params)
    assert response.status_code == 200
    return [t.name for t in response.context["page"].items]


def test_hq_teams_sort_by_name_in_french_order_kind_and_departement(hq_client: Client) -> None:
    TeamFactory.create(name="Lyon", departement="69")
    TeamFactory.create(name="Écologie", kind=Team.Kind.THEMATIC, departement="")
    TeamFactory.create(name="Annecy", departement="74")
    assert team_names(hq_client) == ["Annecy", "Écologie", "Lyon"]
    assert team_names(hq_client, tri="-nom") == ["Lyon", "Écologie", "Annecy"]
    assert team_names(hq_client, tri="departement") == ["Écologie", "Lyon", "Annecy"]
    assert team_names(hq_client, tri="type") == ["Lyon", "Annecy", "Écologie"]
    assert team_names(hq_client, tri="-creee") == ["Annecy", "Écologie", "Lyon"]
    assert team_names(hq_client, tri="name") == ["Annecy", "Écologie", "Lyon"]


def test_hq_teams_go_on_by_pages_in_the_order_asked(hq_client: Client) -> None:
    for i in range(55):
        TeamFactory.create(name=f"Équipe {i:02d}")
    first = hq_client.get(TEAMS, {"tri": "-nom"})
    assert [t.name for t in first.context["page"].items][:2] == ["Équipe 54", "Équipe 53"]
    cursor = first.context["page"].next_cursor
    second = hq_client.get(TEAMS, {"tri": "-nom", "after": cursor})
    assert [t.name for t in second.context["page"].items] == [
        f"Équipe {i:02d}" for i in range(4, -1, -1)
    ]
    assert "tri=-nom&amp;before=" in second.content.decode()


def test_no_team_shows_the_way_to_make_one(hq_client: Client) -> None:
    html = hq_client.get(TEAMS).content.decode()
    assert '<p class="empty-title">Aucune équipe pour l\'instant</p>' in html


def test_a_teams_members_sort_by_name_and_by_arrival(hq_client: Client) -> None:
    team = TeamFactory.create(name="Paris")
    for name in ("Zoé", "émile", "Anne"):
        VolunteerFactory.create(first_name=name, teams=[team])
    Membership.objects.filter(team=team, user__volunteer__first_name="émile").update(
        joined_at=timezone.now() - dt.timedelta(days=30)
    )
    dashboard = reverse("army:team_dashboard", args=[team.pk])

    def members(**params: str) -> list[str]:
        response = hq_client.get(dashboard, params)
        return [m.user.volunteer.first_name for m in response.context["page"].items]

    assert members() == ["Anne", "émile", "Zoé"]
    assert members(tri="-nom") == ["Zoé", "émile", "Anne"]
    assert members(tri="-depuis") == ["Anne", "Zoé", "émile"]
    assert members(tri="depuis") == ["émile", "Zoé", "Anne"]
    assert members(tri="user__email") == ["Anne", "émile", "Zoé"]


def test_an_empty_team_says_who_will_show(hq_client: Client) -> None:
    team = TeamFactory.create(name="Vide")
    html = hq_client.get(reverse("army:team_dashboard", args=[team.pk])).content.decode()
    assert '<p class="empty-title">Aucun membre pour l\'instant</p>' in html
    assert Mission.objects.count() == 0
