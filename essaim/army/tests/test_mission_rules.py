"""Who may do what with missions, for each role: the volunteer, the coordinator of the mission's
team, the coordinator of another team, HQ and the anonymous visitor. Every refused action is
tried through the pages and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Notification
from essaim.army.models import Claim, Mission, Proof, Stage
from essaim.army.rules import missions as rules
from essaim.army.services.missions import claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(coordinator: Any, other_coordinator: Any, hq: Any) -> dict[str, Any]:
    team = TeamFactory.create(coordinators=[coordinator])
    TeamFactory.create(coordinators=[other_coordinator])
    worker = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    draft = MissionFactory.create(team=team, publish=False, title="Brouillon d'équipe")
    mission = MissionFactory.create(team=team, title="Mission d'équipe")
    claim = claim_mission(volunteer=worker, mission_id=mission.pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/1"])
    outsider = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    return {
        "team": team,
        "draft": draft,
        "mission": mission,
        "claim": claim,
        "users": {
            "volunteer": outsider.user,
            "coordinator": coordinator,
            "other_coordinator": other_coordinator,
            "hq": hq,
            "anonymous": AnonymousUser(),
        },
    }


def state() -> tuple[Any, ...]:
    return (
        sorted(Mission.objects.values_list("pk", "status", "slots_taken")),
        sorted(Claim.objects.values_list("pk", "status", "points", "feedback")),
        Proof.objects.count(),
        Notification.objects.count(),
    )


EXPECTED = {
    # role: (create team mission, create national, run the team's mission, review queue)
    "volunteer": (False, False, False, False),
    "coordinator": (True, False, True, True),
    "other_coordinator": (False, False, False, True),
    "hq": (True, True, True, True),
    "anonymous": (False, False, False, False),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_predicates_for_each_role(world, who):
    user = world["users"][who]
    assert (
        rules.can_create_mission(user, world["team"].pk),
        rules.can_create_mission(user, None),
        rules.can_run_mission(user, world["mission"]),
        rules.can_review(user),
    ) == EXPECTED[who]
    assert rules.can_review_claim(user, world["claim"]) == EXPECTED[who][2]


def client_as(world: dict[str, Any], who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world["users"][who])
    return client


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator", "anonymous"])
def test_reviewing_publishing_or_proving_someone_elses_work_is_refused_and_changes_nothing(
    world, who
):
    client = client_as(world, who)
    before = state()
    claim, draft, mission = world["claim"], world["draft"], world["mission"]
    codes = [
        client.post(reverse("army:review", args=[claim.pk]), {"decision": "accept"}).status_code,
        client.post(
            reverse("army:review", args=[claim.pk]), {"decision": "return", "feedback": "non"}
        ).status_code,
        client.post(reverse("army:mission_publish", args=[draft.pk]), {"confirm": "1"}).status_code,
        client.post(
            reverse("army:mission_prove", args=[mission.pk]), {"urls": "https://a.fr/"}
        ).status_code,
        client.post(reverse("army:mission_claim", args=[mission.pk])).status_code,
    ]
    # Anonymous: to the login page. A coordinator has no volunteer profile to claim or prove
    # with (403); what a user may not reach is a 404, so ids reveal nothing.
    expected = {
        "anonymous": [302] * 5,
        "volunteer": [404] * 5,
        "other_coordinator": [404, 404, 404, 403, 403],
    }
    assert codes == expected[who]
    assert state() == before


@pytest.mark.parametrize("who", ["coordinator", "hq"])
def test_the_teams_coordinator_and_hq_may_review_and_publish(world, who):
    client = client_as(world, who)
    client.post(reverse("army:mission_publish", args=[world["draft"].pk]), {"confirm": "1"})
    client.post(reverse("army:review", args=[world["claim"].pk]), {"decision": "accept"})
    world["draft"].refresh_from_db()
    world["claim"].refresh_from_db()
    assert (world["draft"].status, world["claim"].status) == ("published", "accepted")


@pytest.mark.parametrize("who", ["volunteer", "anonymous"])
def test_the_review_queue_and_mission_management_are_closed_to_volunteers_and_visitors(world, who):
    client = client_as(world, who)
    for name in ("army:review_queue", "army:missions_run", "army:mission_create"):
        assert client.get(reverse(name)).status_code == (403 if who == "volunteer" else 302)


def test_staff_without_a_volunteer_profile_have_no_my_missions_page(world):
    assert client_as(world, "hq").get(reverse("army:my_missions")).status_code == 403
