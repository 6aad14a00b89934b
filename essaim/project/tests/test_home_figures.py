"""The home dashboards' figures are French numbers: thousands grouped with a narrow no-break
space ("2 249", U+202F), on the HQ, coordinator and volunteer homes alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.army.models import Stage, VolunteerMissionSettings
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory
from essaim.mailing.tests.factories import make_audience

pytestmark = pytest.mark.django_db
NNBSP = "\u202f"


@pytest.fixture(autouse=True)
def fresh_figures(settings: Any) -> None:
    # No figure kept from another test in the cache.
    settings.DASHBOARD_CACHE_SECONDS = 0


def page(client: Client) -> str:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_hqs_figures_group_thousands(hq: Any, hq_client: Client) -> None:
    make_audience(1234)
    MissionFactory.create(by=hq, quota=1500)

    html = page(hq_client)

    assert f'<span class="figure">1{NNBSP}234</span>' in html  # in the base, and arrived lately
    assert html.count(f'<span class="figure">1{NNBSP}234</span>') == 2
    assert f"prises sur 1{NNBSP}500</span>" in html
    assert ">1234<" not in html and "1\xa0234" not in html


def test_a_coordinators_figures_group_thousands(
    coordinator: Any, coordinator_client: Client
) -> None:
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    MissionFactory.create(by=coordinator, team=team, quota=2249)

    html = page(coordinator_client)

    assert f"prises sur 2{NNBSP}249</span>" in html
    assert ">2249<" not in html  # (the chart's data, for the script, stays a number)


def test_a_volunteers_figures_group_thousands(hq: Any, settings: Any) -> None:
    settings.MISSION_MAX_POINTS = 5000  # a mission worth that much, without HQ's approval
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    VolunteerMissionSettings.objects.create(volunteer=volunteer, total_points=2249)
    MissionFactory.create(by=hq, title="Relayer", points=1500)
    client = Client()
    client.force_login(volunteer.user)

    html = page(client)

    assert f'<span class="figure">2{NNBSP}249</span>' in html
    assert f"1{NNBSP}500 points, avant le" in html
