"""The army tells people what concerns them, at the moment it happens, and never the actor: a
team's coordinators of a request to join and of a proof to review, HQ of a proof on a national
mission and of a mission over the points cap, a volunteer of a mission offered and of their proof
accepted or returned. What someone dealt with is read for everyone."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import Membership, Notification
from essaim.accounts.services.notifications import unread_counts
from essaim.accounts.tests.factories import UserFactory
from essaim.army.models import Stage
from essaim.army.services.missions import (
    accept_claim,
    claim_mission,
    close_mission,
    publish_mission,
    return_claim,
)
from essaim.army.services.oversight import approve_mission, refuse_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.services.teams import decide_request, leave_team, request_to_join
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def told(kind: str, object_id: int) -> list[tuple[str, bool]]:
    """Who was told of this (email, still unread), by address."""
    rows = Notification.objects.filter(kind=kind, object_id=object_id).values_list(
        "recipient__email", "read_at"
    )
    return sorted((email, read_at is None) for email, read_at in rows)


@pytest.fixture
def paris(coordinator: Any) -> Any:
    second = UserFactory.create(email="coord2.paris@equipe.test", coordinator=True)
    return TeamFactory.create(name="Paris 11e", coordinators=[coordinator, second])


def test_a_request_to_join_tells_the_teams_coordinators_only(
    paris: Any, other_coordinator: Any, hq: Any
) -> None:
    TeamFactory.create(name="Lyon 3e", coordinators=[other_coordinator])
    applicant = VolunteerFactory.create(email="ana@exemple.fr")
    membership = request_to_join(user=applicant.user, team=paris)
    assert told("join_request", membership.pk) == [
        ("coord.paris@equipe.test", True),
        ("coord2.paris@equipe.test", True),
    ]
    assert Notification.objects.count() == 2
    # Asking again while the request waits tells nobody again.
    request_to_join(user=applicant.user, team=paris)
    assert Notification.objects.count() == 2


def test_a_coordinator_who_proves_their_teams_mission_is_not_told_of_their_own_proof(
    coordinator: Any,
) -> None:
    doer = VolunteerFactory.create(email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE})
    team = TeamFactory.create(coordinators=[coordinator, doer.user])
    Membership.objects.filter(team=team, user=doer.user).update(is_coordinator=True)
    claim = claim_mission(
        volunteer=doer, mission_id=MissionFactory.create(team=team, by=coordinator).pk
    )
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/1"])
    assert told("proof_to_review", claim.pk) == [("coord.paris@equipe.test", True)]


def test_deciding_a_request_reads_it_for_every_coordinator(coordinator: Any, paris: Any) -> None:
    applicant = VolunteerFactory.create(email="ana@exemple.fr")
    membership = request_to_join(user=applicant.user, team=paris)
    decide_request(membership=membership, approve=True, actor=coordinator)
    assert told("join_request", membership.pk) == [
        ("coord.paris@equipe.test", False),
        ("coord2.paris@equipe.test", False),
    ]


def test_a_withdrawn_request_waits_for_nobody(paris: Any) -> None:
    applicant = VolunteerFactory.create(email="ana@exemple.fr")
    membership = request_to_join(user=applicant.user, team=paris)
    assert leave_team(user=applicant.user, team=paris)
    assert [unread for _email, unread in told("join_request", membership.pk)] == [False, False]


def test_a_request_made_again_after_a_refusal_tells_the_coordinators_again(
    coordinator: Any, paris: Any
) -> None:
    applicant = VolunteerFactory.create(email="ana@exemple.fr")
    membership = request_to_join(user=applicant.user, team=paris)
    decide_request(membership=membership, approve=False, actor=coordinator)
    again = request_to_join(user=applicant.user, team=paris)
    assert again.pk == membership.pk
    assert told("join_request", membership.pk) == [
        ("coord.paris@equipe.test", True),
        ("coord2.paris@equipe.test", True),
    ]
    assert Notification.objects.filter(kind="join_request").count() == 2


def test_a_proof_on_a_team_mission_tells_its_coordinators_and_one_on_a_national_mission_hq(
    coordinator: Any, paris: Any, hq: Any, hq_admin: Any, other_coordinator: Any
) -> None:
    volunteer = VolunteerFactory.create(
        email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, teams=[paris]
    )
    team_claim = claim_mission(
        volunteer=volunteer, mission_id=MissionFactory.create(team=paris, by=coordinator).pk
    )
    national_claim = claim_mission(volunteer=volunteer, mission_id=MissionFactory.create().pk)
    submit_proof(claim=team_claim, urls=["https://forum.exemple.fr/t/1"])
    submit_proof(claim=national_claim, urls=["https://forum.exemple.fr/t/2"])
    assert told("proof_to_review", team_claim.pk) == [
        ("coord.paris@equipe.test", True),
        ("coord2.paris@equipe.test", True),
    ]
    assert told("proof_to_review", national_claim.pk) == [
        ("admin@qg.test", True),
        ("staff@qg.test", True),
    ]
    # The volunteer was told of the two missions offered, then took them: read.
    mine = Notification.objects.filter(recipient=volunteer.user)
    assert sorted((kind, at is None) for kind, at in mine.values_list("kind", "read_at")) == [
        ("mission_offered", False),
        ("mission_offered", False),
    ]


def test_a_review_reads_the_proof_for_every_reviewer_and_tells_the_volunteer_alone(
    coordinator: Any, paris: Any
) -> None:
    volunteer = VolunteerFactory.create(
        email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, teams=[paris]
    )
    accepted = claim_mission(
        volunteer=volunteer, mission_id=MissionFactory.create(team=paris, title="A").pk
    )
    returned = claim_mission(
        volunteer=volunteer, mission_id=MissionFactory.create(team=paris, title="B").pk
    )
    for n, claim in enumerate((accepted, returned)):
        submit_proof(claim=claim, urls=[f"https://forum.exemple.fr/t/{n}"])
    accept_claim(claim=accepted, by=coordinator)
    return_claim(claim=returned, by=coordinator, feedback="Le lien mène à l'accueil.")
    for claim in (accepted, returned):
        assert [unread for _e, unread in told("proof_to_review", claim.pk)] == [False, False]
    assert told("proof_accepted", accepted.mission_id) == [("ana@exemple.fr", True)]
    assert told("proof_returned", returned.mission_id) == [("ana@exemple.fr", True)]
    assert not Notification.objects.filter(recipient=coordinator, read_at__isnull=True).exists()
    # Proved again: the reviewers are told again (the same row, unread again).
    submit_proof(claim=returned, urls=["https://forum.exemple.fr/t/9"])
    assert told("proof_to_review", returned.pk) == [
        ("coord.paris@equipe.test", True),
        ("coord2.paris@equipe.test", True),
    ]


def test_a_mission_is_offered_to_its_eligible_volunteers_in_one_statement(
    coordinator: Any, paris: Any, django_assert_num_queries: Any
) -> None:
    members = [
        VolunteerFactory.create(
            email=f"membre{n}@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, teams=[paris]
        )
        for n in range(3)
    ]
    VolunteerFactory.create(email="dehors@exemple.fr", roles={"tchatcheur": Stage.ACTIVE})
    mission = MissionFactory.create(team=paris, by=coordinator, publish=False)
    publish_mission(mission=mission, by=coordinator)
    assert told("mission_offered", mission.pk) == sorted((m.user.email, True) for m in members)
    # Nobody runs a mission for themselves: the coordinator who made it is not told of it.
    assert not Notification.objects.filter(recipient=coordinator).exists()


def test_closing_a_mission_tells_the_volunteers_whose_claims_it_released_and_ends_its_offer(
    paris: Any,
) -> None:
    working, proved, idle = (
        VolunteerFactory.create(email=f"v{n}@exemple.fr", roles={"tchatcheur": Stage.ACTIVE})
        for n in range(3)
    )
    mission = MissionFactory.create()
    claim_mission(volunteer=working, mission_id=mission.pk)
    submit_proof(
        claim=claim_mission(volunteer=proved, mission_id=mission.pk),
        urls=["https://forum.exemple.fr/t/1"],
    )
    assert told("mission_offered", mission.pk)[2] == ("v2@exemple.fr", True)
    close_mission(mission=mission)
    assert told("mission_closed", mission.pk) == [("v0@exemple.fr", True)]
    # The offer is over: nobody keeps an unread "new mission" for it.
    assert [unread for _e, unread in told("mission_offered", mission.pk)] == [False] * 3
    assert idle.pk not in Notification.objects.filter(read_at__isnull=True).values_list(
        "recipient_id", flat=True
    )


def test_a_mission_over_the_cap_tells_hq_but_its_author_and_the_decision_reads_it(
    settings: Any, hq: Any, hq_admin: Any, coordinator: Any, paris: Any
) -> None:
    settings.MISSION_MAX_POINTS = 50
    third = UserFactory.create(email="tiers@qg.test", hq=True)
    refused = MissionFactory.create(team=paris, by=coordinator, points=80, title="R")
    by_hq = MissionFactory.create(by=hq, points=80, title="Q")
    assert told("mission_approval", refused.pk) == [
        ("admin@qg.test", True),
        ("staff@qg.test", True),
        ("tiers@qg.test", True),
    ]
    # HQ's own mission: its author may not decide it, so is not told.
    assert told("mission_approval", by_hq.pk) == [("admin@qg.test", True), ("tiers@qg.test", True)]
    refuse_mission(mission=refused, by=hq_admin, reason="Trop de points.")
    approve_mission(mission=by_hq, by=third)
    assert Notification.objects.filter(kind="mission_approval", read_at__isnull=True).count() == 0
    assert unread_counts(hq) == {}


def test_a_refused_act_tells_nobody(coordinator: Any, paris: Any) -> None:
    volunteer = VolunteerFactory.create(email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE})
    claim = claim_mission(volunteer=volunteer, mission_id=MissionFactory.create().pk)
    before = Notification.objects.count()
    with pytest.raises(Exception, match="au moins une adresse"):
        submit_proof(claim=claim, urls=[])
    assert Notification.objects.count() == before
