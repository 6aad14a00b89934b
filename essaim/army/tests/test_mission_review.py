"""Review: accepted proof earns points (once) and restarts the role's clock; a returned proof is
fixed and submitted again; leaderboards count accepted work only and respect the opt-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from essaim.accounts.models import Notification
from essaim.army.models import (
    Claim,
    RoleAssignment,
    Stage,
    VolunteerMissionSettings,
)
from essaim.army.services.missions import (
    MissionError,
    accept_claim,
    claim_mission,
    leaderboard,
    return_claim,
    review_queue,
)
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db


def submitted(volunteer, mission) -> Claim:  # type: ignore[no-untyped-def]
    claim = claim_mission(volunteer=volunteer, mission_id=mission.pk)
    submit_proof(claim=claim, urls=[f"https://forum.exemple.fr/t/{claim.pk}"])
    return claim


def test_accepting_a_proof_awards_the_mission_points_and_restarts_the_role_clock(hq):
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    claim = submitted(volunteer, MissionFactory.create(points=15))
    accept_claim(claim=claim, by=hq)
    assignment = RoleAssignment.objects.get(volunteer=volunteer)
    assert (claim.status, claim.points, claim.reviewed_by) == (Claim.Status.ACCEPTED, 15, hq)
    assert VolunteerMissionSettings.objects.get(pk=volunteer.pk).total_points == 15
    assert assignment.last_accepted_work_at == claim.reviewed_at
    assert list(
        Notification.objects.filter(kind="proof_accepted").values_list("recipient", flat=True)
    ) == [volunteer.pk]


def test_accepting_twice_awards_the_points_once(hq):
    claim = submitted(
        VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}), MissionFactory.create()
    )
    accept_claim(claim=claim, by=hq)
    with pytest.raises(MissionError, match="n'attend plus"):
        accept_claim(claim=claim, by=hq)
    assert VolunteerMissionSettings.objects.get().total_points == 10


def test_a_returned_proof_is_fixed_resubmitted_then_accepted(hq):
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    claim = submitted(volunteer, MissionFactory.create())
    with pytest.raises(MissionError, match="ce qu'il faut reprendre"):
        return_claim(claim=claim, by=hq, feedback="  ")
    return_claim(claim=claim, by=hq, feedback="Le lien mène à l'accueil du forum.")
    assert (claim.status, claim.feedback, claim.points) == (
        Claim.Status.RETURNED,
        "Le lien mène à l'accueil du forum.",
        0,
    )
    assert not VolunteerMissionSettings.objects.filter(pk=volunteer.pk, total_points__gt=0).exists()
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/42#post-7"])
    accept_claim(claim=claim, by=hq)
    assert (claim.status, claim.proofs.count(), claim.feedback) == (Claim.Status.ACCEPTED, 2, "")


def test_accepted_work_brings_a_lapsed_role_back_to_active(hq):
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    mission = MissionFactory.create()
    claim = submitted(volunteer, mission)
    RoleAssignment.objects.filter(volunteer=volunteer).update(stage=Stage.LAPSED)
    accept_claim(claim=claim, by=hq)
    assert RoleAssignment.objects.get(volunteer=volunteer).stage == Stage.ACTIVE


def test_the_review_queue_of_a_coordinator_holds_their_teams_missions_only(hq):
    team, other = TeamFactory.create(), TeamFactory.create()
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team, other])
    mine = submitted(volunteer, MissionFactory.create(team=team, title="Nôtre"))
    theirs = submitted(volunteer, MissionFactory.create(team=other, title="Autre"))
    national = submitted(volunteer, MissionFactory.create(title="Nationale"))
    assert list(review_queue(teams=[team.pk])) == [mine]
    assert list(review_queue(teams=None)) == [mine, theirs, national]


def test_leaderboards_count_accepted_work_per_team_zone_and_period_without_those_who_opted_out(
    hq,
):
    team = TeamFactory.create()
    ana = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana", teams=[team]
    )
    bob = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Bob", postcode="69003"
    )
    cyd = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Cyd", teams=[team]
    )
    for n, (volunteer, points) in enumerate([(ana, 10), (bob, 30), (cyd, 50), (ana, 5)]):
        accept_claim(
            claim=submitted(volunteer, MissionFactory.create(points=points, title=f"M{n}")), by=hq
        )
    submitted(bob, MissionFactory.create(points=45, title="Pas encore relue"))
    VolunteerMissionSettings.objects.filter(pk=cyd.pk).update(leaderboard_opt_out=True)

    def board(**kw):  # type: ignore[no-untyped-def]
        return [(s.name, s.points, s.missions) for s in leaderboard(**kw)]

    assert board() == [("Bob", 30, 1), ("Ana", 15, 2)]
    assert board(team=team.pk) == [("Ana", 15, 2)]
    assert board(departement="69") == [("Bob", 30, 1)]
    assert board(since=timezone.now() + timedelta(minutes=1)) == []
