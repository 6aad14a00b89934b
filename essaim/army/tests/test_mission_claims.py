"""Claiming missions: targeting decides who may, capacity limits how many at once, and the quota
is exact even when volunteers claim the last slots at the same instant."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from essaim.accounts.models import Membership
from essaim.army.models import Claim, Mission, Stage, TalkingPointVersion, window_mask
from essaim.army.services.missions import (
    MAX_OPEN_CLAIMS,
    MissionError,
    MissionFull,
    Targeting,
    claim_mission,
    eligible_missions,
    facts_of,
    release_claim,
)
from essaim.army.services.talking_points import (
    add_talking_point,
    library,
    retire_talking_point,
    revise_talking_point,
)
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db

ACTIVE_CHATTER = {"tchatcheur": Stage.ACTIVE}


def eligible_titles(volunteer: Any) -> list[str]:
    return sorted(eligible_missions(facts_of(volunteer)).values_list("title", flat=True))


def test_a_volunteer_sees_the_missions_targeted_at_their_role_and_stage():
    MissionFactory.create(title="Pour les tchatcheurs actifs")
    MissionFactory.create(title="Pour les traceurs", role_slug="traceur")
    MissionFactory.create(title="Pour les candidats", targeting=Targeting(stages=[Stage.APPLIED]))
    MissionFactory.create(title="Brouillon", publish=False)
    MissionFactory.create(
        title="Échue", publish=False, deadline=timezone.now() + timedelta(seconds=1)
    )
    Mission.objects.filter(title="Échue").update(
        status=Mission.Status.PUBLISHED, deadline=timezone.now() - timedelta(hours=1)
    )
    chatter = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    applicant = VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED})
    assert eligible_titles(chatter) == ["Pour les tchatcheurs actifs"]
    assert eligible_titles(applicant) == ["Pour les candidats"]
    assert eligible_titles(VolunteerFactory.create()) == []


def test_zone_team_and_window_targeting_narrow_who_is_eligible():
    team = TeamFactory.create()
    MissionFactory.create(title="Paris", targeting=Targeting(departements=["75"]))
    MissionFactory.create(title="Rhône-Alpes", targeting=Targeting(regions=["84"]))
    MissionFactory.create(title="De l'équipe", team=team)
    MissionFactory.create(title="Équipes visées", targeting=Targeting(teams=[team.pk]))
    MissionFactory.create(title="Samedi soir", targeting=Targeting(windows=window_mask([(5, 2)])))
    parisian = VolunteerFactory.create(roles=ACTIVE_CHATTER, postcode="75011", teams=[team])
    lyonnais = VolunteerFactory.create(
        roles=ACTIVE_CHATTER, postcode="69003", windows=window_mask([(5, 2), (6, 0)])
    )
    assert eligible_titles(parisian) == ["De l'équipe", "Paris", "Équipes visées"]
    assert eligible_titles(lyonnais) == ["Rhône-Alpes", "Samedi soir"]


def test_claiming_takes_a_slot_and_releasing_gives_it_back():
    mission = MissionFactory.create(quota=2)
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    claim = claim_mission(volunteer=volunteer, mission_id=mission.pk)
    mission.refresh_from_db()
    assert (claim.status, mission.slots_taken) == (Claim.Status.CLAIMED, 1)
    release_claim(claim=claim)
    mission.refresh_from_db()
    assert (Claim.objects.get().status, mission.slots_taken) == (Claim.Status.RELEASED, 0)
    again = claim_mission(volunteer=volunteer, mission_id=mission.pk)
    mission.refresh_from_db()
    assert (again.pk, again.status, mission.slots_taken) == (claim.pk, Claim.Status.CLAIMED, 1)


def test_claiming_twice_is_refused_and_changes_nothing():
    mission = MissionFactory.create()
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    claim_mission(volunteer=volunteer, mission_id=mission.pk)
    with pytest.raises(MissionError, match="déjà pris"):
        claim_mission(volunteer=volunteer, mission_id=mission.pk)
    mission.refresh_from_db()
    assert (Claim.objects.count(), mission.slots_taken) == (1, 1)


def test_a_volunteer_cannot_hold_more_open_claims_than_the_capacity():
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    for n in range(MAX_OPEN_CLAIMS):
        claim_mission(volunteer=volunteer, mission_id=MissionFactory.create(title=f"M{n}").pk)
    extra = MissionFactory.create(title="Une de trop")
    with pytest.raises(MissionError, match=f"déjà {MAX_OPEN_CLAIMS} missions en cours"):
        claim_mission(volunteer=volunteer, mission_id=extra.pk)
    extra.refresh_from_db()
    assert (Claim.objects.count(), extra.slots_taken) == (MAX_OPEN_CLAIMS, 0)


def test_a_full_mission_refuses_the_next_claim():
    mission = MissionFactory.create(quota=1)
    claim_mission(volunteer=VolunteerFactory.create(roles=ACTIVE_CHATTER), mission_id=mission.pk)
    with pytest.raises(MissionFull):
        claim_mission(
            volunteer=VolunteerFactory.create(roles=ACTIVE_CHATTER), mission_id=mission.pk
        )
    mission.refresh_from_db()
    assert (Claim.objects.count(), mission.slots_taken) == (1, 1)


def test_a_mission_the_volunteer_is_not_targeted_by_is_not_found():
    foreign = MissionFactory.create(role_slug="traceur")
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    for mission_id in (foreign.pk, 999_999):
        with pytest.raises(Mission.DoesNotExist):
            claim_mission(volunteer=volunteer, mission_id=mission_id)
    foreign.refresh_from_db()
    assert (Claim.objects.count(), foreign.slots_taken) == (0, 0)


# serialized_rollback: the flush after a transactional test would take the seeded roles along.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("quota", [1, 3])
def test_volunteers_claiming_the_last_slots_at_the_same_instant_get_exactly_the_quota(
    threadable_db: None, quota: int
):
    mission = MissionFactory.create(quota=quota)
    volunteers = [VolunteerFactory.create(roles=ACTIVE_CHATTER) for _ in range(6)]
    start = threading.Barrier(len(volunteers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(volunteer: Any) -> None:
        try:
            start.wait()
            try:
                claim_mission(volunteer=volunteer, mission_id=mission.pk)
                outcome = "granted"
            except MissionFull:
                outcome = "full"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(v,)) for v in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mission.refresh_from_db()
    assert sorted(outcomes) == ["full"] * (6 - quota) + ["granted"] * quota
    assert (Claim.objects.filter(mission=mission).count(), mission.slots_taken) == (quota, quota)


def test_talking_points_are_versioned_retired_and_counted_when_a_mission_uses_them():
    point = add_talking_point(
        title="Le pouvoir d'achat", body="Premier texte", tags=["Éco", "éco "], by=None
    )
    second = revise_talking_point(point=point, body="Texte révisé", by=None)
    assert (point.tags, list(point.versions.values_list("number", flat=True))) == (["éco"], [2, 1])
    MissionFactory.create(talking_point=second)
    MissionFactory.create(talking_point=second, title="Encore")
    second.refresh_from_db()
    assert second.usage_count == 2
    assert list(library(teams=None, tag="éco")) == [point]
    retire_talking_point(point=point)
    assert list(library(teams=None)) == []
    with pytest.raises(MissionError, match="retiré"):
        MissionFactory.create(talking_point=second, title="Trop tard")
    assert TalkingPointVersion.objects.get(pk=second.pk).usage_count == 2


def test_team_members_only_count_in_state_member():
    team = TeamFactory.create()
    MissionFactory.create(title="De l'équipe", team=team)
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    Membership.objects.create(team=team, user=volunteer.user, state=Membership.State.REQUESTED)
    assert eligible_titles(volunteer) == []
