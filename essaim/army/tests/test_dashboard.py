"""The army's figures and panels on the home page (army.services.dashboard): exact counts on
factory data, a fixed number of queries, and each panel for whom it is meant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from essaim.accounts.models import Membership
from essaim.army import dashboard as panels
from essaim.army.models import (
    Claim,
    Invitation,
    Mission,
    Stage,
    VolunteerMissionSettings,
)
from essaim.army.services import dashboard
from essaim.army.services.calls import call_funnel, record_signup, record_visit
from essaim.army.services.missions import claim_mission
from essaim.army.tests.call_helpers import launch, paris_segment
from essaim.army.tests.factories import CallFactory, MissionFactory, TeamFactory, VolunteerFactory
from essaim.mailing.models import Delivery
from essaim.people.models import Contact

pytestmark = pytest.mark.django_db

UTC = dt.UTC
zero = dict.fromkeys(Stage.values, 0)


def queries(function: Any, *args: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        function(*args)
    return len(captured)


@pytest.fixture
def army(db: Any) -> dict[str, Any]:
    """Three volunteers in Paris, one in Lyon, one nowhere known."""
    return {
        "a": VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE, "mondain": Stage.TRAINED}),
        "b": VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}),
        "c": VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED, "traceur": Stage.LAPSED}),
        "lyon": VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, postcode="69003"),
        "nowhere": VolunteerFactory.create(roles={"mondain": Stage.ACTIVE}, postcode=""),
    }


def test_volunteers_per_role_and_stage_in_every_role_in_order(army: dict[str, Any]) -> None:
    found = {r.role.slug: r.stages for r in dashboard.roles_by_stage(None)}
    assert found["tchatcheur"] == zero | {"active": 2, "applied": 1}
    assert found["mondain"] == zero | {"trained": 1, "active": 1}
    assert found["traceur"] == zero | {"lapsed": 1, "active": 1}
    assert len(found) == 7  # every role of the typology, zeros included
    paris = {r.role.slug: r.stages for r in dashboard.roles_by_stage(["75"])}
    assert paris["traceur"] == zero | {"lapsed": 1}
    assert paris["mondain"] == zero | {"trained": 1}


def test_active_volunteers_per_region_or_per_departement(army: dict[str, Any]) -> None:
    # "c" holds no active role: not counted.
    assert dashboard.active_by_zone(None) == {"11": 2, "": 1, "84": 1}
    assert dashboard.active_by_zone(["75", "69"]) == {"75": 2, "69": 1}
    assert dashboard.active_by_zone(["13"]) == {}


def test_missions_open_and_proofs_waiting_with_the_oldest_wait(
    army: dict[str, Any], hq: Any
) -> None:
    team = TeamFactory.create()
    Membership.objects.create(team=team, user=army["a"].user)
    national = MissionFactory.create(by=hq, quota=3)
    teams = MissionFactory.create(by=hq, team=team, quota=2, title="De l'équipe")
    MissionFactory.create(by=hq, quota=5, publish=False, title="Brouillon")
    Mission.objects.create(
        kind="relay",
        title="Ancienne",
        brief="…",
        role=national.role,
        quota=4,
        status=Mission.Status.PUBLISHED,
        deadline=timezone.now() - dt.timedelta(days=1),
    )
    Mission.objects.filter(title="Brouillon").update(status=Mission.Status.AWAITING)
    for volunteer in (army["a"], army["b"]):
        claim_mission(volunteer=volunteer, mission_id=national.pk)
    claim_mission(volunteer=army["a"], mission_id=teams.pk)
    long_ago = timezone.now() - dt.timedelta(hours=30)
    Claim.objects.filter(mission=national, volunteer=army["a"]).update(
        status=Claim.Status.SUBMITTED, submitted_at=long_ago
    )
    Claim.objects.filter(mission=teams).update(
        status=Claim.Status.SUBMITTED, submitted_at=timezone.now()
    )

    everything = dashboard.mission_figures(None)
    assert (everything.open, everything.slots, everything.taken, everything.awaiting) == (
        2,
        5,
        3,
        1,
    )
    theirs = dashboard.mission_figures([team.pk])
    assert (theirs.open, theirs.slots, theirs.taken, theirs.awaiting) == (1, 2, 1, 0)
    assert dashboard.mission_figures([]).open == 0

    waiting = dashboard.proofs_waiting(None)
    assert (waiting.count, waiting.oldest) == (2, long_ago)
    assert dashboard.proofs_waiting([team.pk]).count == 1
    assert dashboard.proofs_waiting([]) == dashboard.Waiting(0, None)


def test_call_totals_are_the_funnels_totals_in_three_queries(hq: Any) -> None:
    segment = paris_segment(*[(f"p{i}@exemple.fr", f"P{i}") for i in range(4)])
    first = CallFactory.create(segment=segment, user=hq, title="Premier")
    second = CallFactory.create(segment=segment, user=hq, title="Second")
    deliveries = launch(first)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries[:3]]).update(
        status=Delivery.Status.ACCEPTED
    )
    contacts = [Contact.objects.get(delivery=d) for d in deliveries]
    for contact in contacts[:2]:
        record_visit(first, contact)
    record_signup(first, contacts[0])
    record_visit(second, contacts[3])
    volunteer = VolunteerFactory.create(email="p0@exemple.fr")
    volunteer.contact = contacts[0]
    volunteer.save()
    Claim.objects.create(
        mission=MissionFactory.create(by=hq),
        volunteer=volunteer,
        status=Claim.Status.ACCEPTED,
        reviewed_at=timezone.now(),
    )

    with CaptureQueriesContext(connection) as captured:
        totals = dashboard.funnel_totals([first, second])
    assert len(captured) == 3
    assert totals[first.pk] == {"reached": 3, "visited": 2, "signed_up": 1, "first_mission": 1}
    assert totals[first.pk] == call_funnel(first).totals
    assert totals[second.pk] == {"reached": 0, "visited": 1, "signed_up": 0, "first_mission": 0}
    assert dashboard.funnel_totals([]) == {}


def test_a_coordinators_teams_and_where_their_missions_stand(
    army: dict[str, Any], coordinator: Any
) -> None:
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    other = TeamFactory.create(name="Autre")
    for volunteer in (army["a"], army["b"]):
        Membership.objects.create(team=team, user=volunteer.user)
    Membership.objects.create(team=team, user=army["c"].user, state=Membership.State.REQUESTED)
    Membership.objects.create(team=other, user=army["c"].user, state=Membership.State.REQUESTED)

    lines = dashboard.team_lines([team.pk])
    assert [(t.team.name, t.members, t.requests) for t in lines] == [("Paris 11e", 3, 1)]

    mission = MissionFactory.create(by=coordinator, team=team, quota=4)
    for volunteer in (army["a"], army["b"]):
        claim_mission(volunteer=volunteer, mission_id=mission.pk)
    Claim.objects.filter(volunteer=army["a"]).update(status=Claim.Status.ACCEPTED)
    MissionFactory.create(by=coordinator, team=other)  # not theirs
    progress = dashboard.mission_progress([team.pk])
    assert [(p.mission.pk, p.accepted, p.submitted, p.working, p.free) for p in progress] == [
        (mission.pk, 1, 0, 1, 2)
    ]
    assert progress[0].done_percent == 25


def test_a_volunteers_missions_points_per_week_and_teams(army: dict[str, Any], hq: Any) -> None:
    volunteer = army["b"]
    offered = MissionFactory.create(by=hq, title="Proposée")
    taken = MissionFactory.create(by=hq, title="Prise")
    MissionFactory.create(by=hq, title="Pour d'autres", role_slug="traceur")
    claim_mission(volunteer=volunteer, mission_id=taken.pk)

    mine = dashboard.volunteer_missions(volunteer)
    assert (mine.offered, [m.pk for m in mine.offers]) == (1, [offered.pk])
    assert [c.mission_id for c in mine.claims] == [taken.pk]

    # Wednesday 10 March 2027; the weeks start on Monday 8, 1 and 22 February...
    now = dt.datetime(2027, 3, 10, 11, 0, tzinfo=UTC)
    done = [
        (dt.datetime(2027, 3, 7, 23, 30, tzinfo=UTC), 10),  # Monday 8, 00:30 in Paris
        (dt.datetime(2027, 3, 7, 22, 0, tzinfo=UTC), 5),  # Sunday 7, 23:00 in Paris
        (dt.datetime(2027, 1, 1, 12, 0, tzinfo=UTC), 7),  # too long ago for the chart
    ]
    for i, (when, worth) in enumerate(done):
        Claim.objects.create(
            mission=MissionFactory.create(by=hq, title=f"Faite {i}"),
            volunteer=volunteer,
            status=Claim.Status.ACCEPTED,
            reviewed_at=when,
            points=worth,
        )
    Invitation.objects.create(
        inviter=volunteer,
        email_hash="h1",
        status=Invitation.Status.CONFIRMED,
        points=3,
        confirmed_at=dt.datetime(2027, 2, 24, 10, 0, tzinfo=UTC),
    )
    VolunteerMissionSettings.objects.create(volunteer=volunteer, total_points=25)

    points = dashboard.volunteer_points(volunteer, weeks=3, now=now)
    assert points.weeks == [dt.date(2027, 2, 22), dt.date(2027, 3, 1), dt.date(2027, 3, 8)]
    assert points.from_missions == [0, 5, 10]
    assert points.from_invitations == [3, 0, 0]
    assert (points.total, points.missions) == (25, 3)

    team = TeamFactory.create(name="Paris 11e")
    Membership.objects.create(team=team, user=volunteer.user)
    left = TeamFactory.create(name="Quittée")
    Membership.objects.create(team=left, user=volunteer.user, state=Membership.State.LEFT)
    assert [m.team.name for m in dashboard.memberships_of(volunteer)] == ["Paris 11e"]


def test_the_figures_take_a_fixed_number_of_queries_whatever_the_army(hq: Any) -> None:
    def all_figures() -> None:
        dashboard.roles_by_stage(None)
        dashboard.active_by_zone(None)
        dashboard.mission_figures(None)
        dashboard.proofs_waiting(None)

    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    few = queries(all_figures)
    for i in range(6):
        v = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE, "traceur": Stage.TRAINED})
        mission = MissionFactory.create(by=hq, title=f"M{i}")
        claim_mission(volunteer=v, mission_id=mission.pk)
    assert queries(all_figures) == few == 5


def test_each_panel_is_for_whom_it_is_meant(
    army: dict[str, Any], hq: Any, coordinator: Any, volunteer: Any
) -> None:
    # HQ: the army everywhere, its missions and proofs, the calls; no team, no missions of its own.
    assert panels.army_panel(hq)["everywhere"] is True  # type: ignore[index]
    assert "proofs" in panels.army_panel(hq)  # type: ignore[operator]
    assert panels.calls_panel(hq) is not None
    assert panels.team_panel(hq) is None
    assert panels.volunteer_panel(hq) is None
    # A coordinator: the volunteers of their zones (2 active in Paris), their team.
    zone = panels.army_panel(coordinator)
    assert zone is not None
    assert (zone["everywhere"], zone["active"]) == (False, 2)
    assert "proofs" not in zone
    assert panels.calls_panel(coordinator) is None
    assert panels.team_panel(coordinator) is None  # no team yet
    TeamFactory.create(coordinators=[coordinator])
    assert panels.team_panel(coordinator) is not None
    # A volunteer: their own panel only, once they have a profile.
    assert panels.army_panel(volunteer) is None
    assert panels.calls_panel(volunteer) is None
    assert panels.team_panel(volunteer) is None
    assert panels.volunteer_panel(volunteer) is None
    assert panels.volunteer_panel(army["a"].user) is not None
