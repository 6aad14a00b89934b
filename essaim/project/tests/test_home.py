"""The home page: each role lands on its dashboard, made of the panels the apps register
(accounts.services.dashboard), and sees only the figures it may see."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from essaim.army.models import Stage
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def home(client: Client) -> Any:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def names(response: Any) -> list[str]:
    return [panel.name for panel in response.context["panels"]]


@pytest.fixture
def base(db: Any) -> None:
    """Three contacts in Paris, two in Lyon."""
    for _ in range(3):
        make_contact()
    for _ in range(2):
        make_contact(postcode="69003")


def test_hq_lands_on_the_campaigns_dashboard_with_a_chart_per_figure(
    base: None, hq_client: Client
) -> None:
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    response = home(hq_client)
    assert names(response) == ["base", "campaigns", "army", "calls"]
    page = response.content.decode()
    for chart in ("base-growth", "base-consents", "base-exits", "army-roles", "army-zones"):
        assert f'<canvas id="chart-{chart}" data-chart="chart-{chart}-data"' in page
        assert f'<script id="chart-{chart}-data" type="application/json">' in page
    # Each panel links to the page behind it.
    for url in ("people:contact_list", "mailing:campaign_list", "army:team_list", "army:call_list"):
        assert f'href="{reverse(url)}"' in page
    base_panel = response.context["panels"][0].context
    assert (base_panel["size"], base_panel["new"]) == (5, 5)
    # The scripts come from our own origin: Chart.js from node_modules, ours from static.
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page
    assert 'src="/static/js/charts.js"' in page


def test_the_coordinator_lands_on_their_team_and_the_figures_of_their_zone(
    base: None, coordinator: Any, coordinator_client: Client
) -> None:
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    MissionFactory.create(by=coordinator, team=team, title="Coller les affiches numériques")
    response = home(coordinator_client)
    assert names(response) == ["team", "base", "army"]
    panels = {panel.name: panel.context for panel in response.context["panels"]}
    assert panels["base"]["size"] == 3  # Paris only
    assert panels["army"]["active"] == 1
    page = response.content.decode()
    assert "Paris 11e" in page and "Coller les affiches numériques" in page
    assert "chart-base-exits" not in page  # the whole base's exits are HQ's
    assert reverse("mailing:campaign_list") not in page


def test_a_volunteer_sees_their_missions_points_and_teams_and_no_figure_of_the_base(
    base: None, hq: Any
) -> None:
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    MissionFactory.create(by=hq, title="Relayer le discours de Lille")
    client = Client()
    client.force_login(volunteer.user)
    response = home(client)
    assert names(response) == ["volunteer"]
    page = response.content.decode()
    assert "Relayer le discours de Lille" in page
    assert 'id="chart-volunteer-points"' in page
    assert "apparaîtront ici" not in page
    for base_figure in ("panel-base", "chart-base", "panel-army", "panel-campaigns", "contacts"):
        assert base_figure not in page


def test_an_account_without_a_profile_gets_an_empty_state(volunteer_client: Client) -> None:
    response = home(volunteer_client)
    assert names(response) == []
    assert "Rien à montrer pour l'instant" in response.content.decode()
    assert "chart.umd" not in response.content.decode()


def test_the_home_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_hqs_dashboard_reads_as_many_queries_whatever_the_size_of_the_campaign(
    hq: Any, hq_client: Client
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            home(hq_client)
        return len(captured)

    make_contact()
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    few = count()
    for i in range(20):
        make_contact(postcode="69003", source=f"source {i % 7}")
        VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, postcode="13001")
    MissionFactory.create(by=hq)
    assert count() == few


def test_the_base_figures_are_kept_a_minute_and_each_scope_its_own(
    settings: Any, base: None, hq_client: Client, coordinator_client: Client
) -> None:
    settings.DASHBOARD_CACHE_SECONDS = 60
    cache.clear()

    def sizes() -> tuple[int, int]:
        hq_page, coordinator_page = home(hq_client), home(coordinator_client)
        return (
            next(p.context["size"] for p in hq_page.context["panels"] if p.name == "base"),
            next(p.context["size"] for p in coordinator_page.context["panels"] if p.name == "base"),
        )

    try:
        assert sizes() == (5, 3)  # the coordinator of Paris never gets HQ's figures
        make_contact()
        assert sizes() == (5, 3)  # within the minute
        cache.clear()
        assert sizes() == (6, 4)
    finally:
        cache.clear()
