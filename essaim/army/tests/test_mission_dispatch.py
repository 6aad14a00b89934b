"""Dispatch: one INSERT … SELECT notifies the eligible volunteers who have room in their week;
a second dispatch tells nobody twice."""

from __future__ import annotations

import pytest

from essaim.accounts.models import Notification
from essaim.army.models import Claim, Stage, Volunteer
from essaim.army.services.dispatch import dispatch_mission
from essaim.army.services.missions import MAX_OPEN_CLAIMS, Targeting, claim_mission
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db


def notified(mission) -> list[str]:  # type: ignore[no-untyped-def]
    told = Notification.objects.filter(object_id=mission.pk, kind="mission_offered")
    return sorted(
        Volunteer.objects.filter(pk__in=told.values("recipient_id")).values_list(
            "first_name", flat=True
        )
    )


def test_publishing_notifies_the_targeted_volunteers_once():
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana")
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Lyon", postcode="69003")
    VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, first_name="Traceur")
    VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED}, first_name="Candidat")
    mission = MissionFactory.create(targeting=Targeting(departements=["75"]))
    assert notified(mission) == ["Ana"]
    assert dispatch_mission(mission) == 0
    assert notified(mission) == ["Ana"]


def test_a_team_mission_is_dispatched_to_the_team_members_only():
    team = TeamFactory.create()
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Membre", teams=[team])
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Dehors")
    assert notified(MissionFactory.create(team=team)) == ["Membre"]


def test_dispatch_skips_volunteers_whose_declared_week_is_full():
    busy = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Occupé", weekly_hours=1
    )
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Libre", weekly_hours=1)
    for n in range(2):  # 2 × 30 minutes: the declared hour is taken
        claim_mission(volunteer=busy, mission_id=MissionFactory.create(title=f"M{n}").pk)
    assert notified(MissionFactory.create(title="Nouvelle")) == ["Libre"]


def test_dispatch_skips_volunteers_at_their_open_claims_capacity():
    full = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Plein", weekly_hours=40
    )
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Libre")
    for n in range(MAX_OPEN_CLAIMS):
        claim_mission(volunteer=full, mission_id=MissionFactory.create(title=f"M{n}").pk)
    assert Claim.objects.filter(volunteer=full).count() == MAX_OPEN_CLAIMS
    assert notified(MissionFactory.create(title="Nouvelle")) == ["Libre"]


def test_a_limited_dispatch_asks_the_least_loaded_first():
    loaded = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, first_name="Chargé", weekly_hours=10
    )
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Léger", weekly_hours=10)
    claim_mission(volunteer=loaded, mission_id=MissionFactory.create(title="Déjà").pk)
    mission = MissionFactory.create(title="Nouvelle", publish=False)
    mission.status = "published"
    mission.save(update_fields=["status"])
    assert dispatch_mission(mission, limit=1) == 1
    assert notified(mission) == ["Léger"]
