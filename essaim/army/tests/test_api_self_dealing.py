"""Self-dealing over the API (issue 14, item 4), replayed: a volunteer made coordinator accepts
their own proof (403, nothing changes), and creates a 1,000-point mission, publishes, claims,
proves and accepts it (it waits for HQ; no points)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from essaim.accounts.models import Membership
from essaim.api.testing import api_for
from essaim.army.models import Claim, Mission, Stage, VolunteerMissionSettings
from essaim.army.services import oversight
from essaim.army.services.missions import claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import make_mission

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

ACTIVE_CHATTER = {"tchatcheur": Stage.ACTIVE}
SELF_REVIEW = "Vous ne pouvez pas relire votre propre preuve : un autre relecteur s'en charge."


@pytest.fixture
def team() -> Any:
    return make_team("Paris 11e")


@pytest.fixture
def sam(team: Any) -> Any:
    volunteer = make_volunteer(
        "sam@exemple.fr", first_name="Sam", roles=ACTIVE_CHATTER, teams=[team]
    )
    Membership.objects.filter(user=volunteer.user, team=team).update(is_coordinator=True)
    return volunteer


def no_points() -> bool:
    return not VolunteerMissionSettings.objects.filter(total_points__gt=0).exists()


def test_accepting_or_returning_ones_own_proof_is_a_403_and_nothing_changes(sam, team, hq):
    claim = claim_mission(volunteer=sam, mission_id=make_mission(by=hq, team=team).pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/1"])
    api = api_for(sam.user, scopes=["read", "write"])
    accepted = api.post(f"/api/v1/claims/{claim.pk}/accept")
    returned = api.post(f"/api/v1/claims/{claim.pk}/return", {"feedback": "À reprendre"})
    for response in (accepted, returned):
        assert response.status_code == 403
        assert (response.json()["error"]["code"], response.json()["error"]["message"]) == (
            "self_review",
            SELF_REVIEW,
        )
    claim.refresh_from_db()
    assert (claim.status, claim.points, claim.reviewed_by, claim.feedback) == (
        Claim.Status.SUBMITTED,
        0,
        None,
        "",
    )
    assert no_points()


def test_the_thousand_point_mission_waits_for_hq_and_earns_its_author_nothing(
    settings, sam, team, hq
):
    settings.MISSION_MAX_POINTS = 50
    api = api_for(sam.user, scopes=["read", "write"])
    created = api.post(
        "/api/v1/missions",
        {
            "kind": "relay",
            "title": "Mission express",
            "brief": "Un message.",
            "role": "tchatcheur",
            "team": team.pk,
            "quota": 1,
            "points": 1000,
            "deadline": (timezone.now() + timedelta(days=2)).isoformat(),
        },
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    published = api.post(f"/api/v1/missions/{pk}/publish")
    assert (published.status_code, published.json()) == (
        200,
        {"id": pk, "notified": 0, "status": "awaiting"},
    )
    assert api.get(f"/api/v1/missions/{pk}").json()["status"] == "awaiting"
    refused = api.post(f"/api/v1/missions/{pk}/claim")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Vous avez créé cette mission : elle est pour d'autres volontaires que vous."
    )
    assert (Claim.objects.count(), no_points()) == (0, True)

    # Even once another HQ member approves it, its author cannot take it.
    oversight.approve_mission(mission=Mission.objects.get(pk=pk), by=hq)
    assert Mission.objects.get(pk=pk).status == Mission.Status.PUBLISHED
    assert api.post(f"/api/v1/missions/{pk}/claim").status_code == 409
    assert api.get("/api/v1/missions/offered").json() == []
    assert (Claim.objects.count(), no_points()) == (0, True)
