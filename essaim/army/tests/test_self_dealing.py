"""Self-dealing (issue 14, item 4): a volunteer made coordinator accepted their own proof, and
created a 1,000-point mission to claim, prove and accept. Nobody reviews their own proof, a
mission's author never claims it, a mission above MISSION_MAX_POINTS waits for another HQ
member's approval, and sudden jumps in points are shown to HQ."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent, Membership
from essaim.army.models import Claim, Invitation, Mission, Stage, VolunteerMissionSettings
from essaim.army.services import oversight
from essaim.army.services.missions import (
    MissionError,
    SelfReview,
    accept_claim,
    claim_mission,
    eligible_missions,
    facts_of,
    publish_mission,
    return_claim,
)
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db

ACTIVE_CHATTER = {"tchatcheur": Stage.ACTIVE}


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashed(response: Any) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'<li class="message [^"]*">([^<]*)</li>', response.text)
    ]


@pytest.fixture
def team() -> Any:
    return TeamFactory.create(name="Paris 11e")


@pytest.fixture
def sam(team: Any) -> Any:
    """A volunteer made coordinator of their team."""
    volunteer = VolunteerFactory.create(
        email="sam@exemple.fr", first_name="Sam", roles=ACTIVE_CHATTER, teams=[team]
    )
    Membership.objects.filter(user=volunteer.user, team=team).update(is_coordinator=True)
    return volunteer


def proved(volunteer: Any, mission: Mission) -> Claim:
    claim = claim_mission(volunteer=volunteer, mission_id=mission.pk)
    submit_proof(claim=claim, urls=[f"https://forum.exemple.fr/t/{claim.pk}"])
    return claim


def unchanged(claim: Claim) -> bool:
    claim.refresh_from_db()
    return (
        claim.status,
        claim.points,
        claim.reviewed_by_id,
        claim.reviewed_at,
        VolunteerMissionSettings.objects.filter(total_points__gt=0).count(),
    ) == (Claim.Status.SUBMITTED, 0, None, None, 0)


# --- Nobody reviews their own proof -------------------------------------------------------------


def test_a_coordinator_cannot_accept_their_own_proof_on_the_page_and_nothing_changes(sam, team, hq):
    claim = proved(sam, MissionFactory.create(by=hq, team=team))
    client = client_of(sam.user)
    for decision in ("accept", "return"):
        response = client.post(
            reverse("army:review", args=[claim.pk]),
            {"decision": decision, "feedback": "Parfait"},
            follow=True,
        )
        assert flashed(response) == [
            "Vous ne pouvez pas relire votre propre preuve : un autre relecteur s'en charge."
        ]
        assert unchanged(claim)


def test_the_review_queue_shows_no_review_buttons_on_ones_own_proof(sam, team, hq):
    other = VolunteerFactory.create(roles=ACTIVE_CHATTER, teams=[team])
    mission = MissionFactory.create(by=hq, team=team)
    mine, theirs = proved(sam, mission), proved(other, mission)
    page = client_of(sam.user).get(reverse("army:review_queue")).text
    assert page.count('data-testid="own-proof"') == 1
    assert reverse("army:review", args=[mine.pk]) not in page
    assert reverse("army:review", args=[theirs.pk]) in page


def test_hq_does_not_review_their_own_proof_either(hq):
    volunteer = VolunteerFactory.create(roles=ACTIVE_CHATTER)
    claim = proved(volunteer, MissionFactory.create())
    with pytest.raises(SelfReview):
        accept_claim(claim=claim, by=volunteer.user)
    with pytest.raises(SelfReview):
        return_claim(claim=claim, by=volunteer.user, feedback="Je me renvoie")
    assert unchanged(claim)
    accept_claim(claim=claim, by=hq)  # someone else may
    assert (claim.status, claim.points) == (Claim.Status.ACCEPTED, 10)


def test_reviewing_the_proofs_of_others_on_ones_own_mission_is_the_normal_case(sam, team):
    other = VolunteerFactory.create(roles=ACTIVE_CHATTER, teams=[team])
    claim = proved(other, MissionFactory.create(by=sam.user, team=team))
    accept_claim(claim=claim, by=sam.user)
    assert (claim.status, claim.reviewed_by) == (Claim.Status.ACCEPTED, sam.user)


# --- A mission's author never claims it ---------------------------------------------------------


def test_a_missions_author_is_not_offered_it_and_cannot_claim_it(sam, team):
    mission = MissionFactory.create(by=sam.user, team=team)
    assert list(eligible_missions(facts_of(sam))) == []
    with pytest.raises(MissionError, match="Vous avez créé cette mission"):
        claim_mission(volunteer=sam, mission_id=mission.pk)
    mission.refresh_from_db()
    assert (Claim.objects.count(), mission.slots_taken) == (0, 0)
    other = VolunteerFactory.create(roles=ACTIVE_CHATTER, teams=[team])
    assert list(eligible_missions(facts_of(other))) == [mission]


# --- Points above the cap wait for HQ -----------------------------------------------------------


def test_a_mission_at_the_cap_is_published_at_once(settings, sam, team):
    settings.MISSION_MAX_POINTS = 50
    mission = MissionFactory.create(by=sam.user, team=team, points=50)
    assert mission.status == Mission.Status.PUBLISHED


def test_a_mission_above_the_cap_waits_for_hq_unseen_and_unclaimable(settings, sam, team):
    settings.MISSION_MAX_POINTS = 50
    other = VolunteerFactory.create(roles=ACTIVE_CHATTER, teams=[team])
    mission = MissionFactory.create(by=sam.user, team=team, points=51, publish=False)
    assert publish_mission(mission=mission, by=sam.user) == 0
    mission.refresh_from_db()
    assert (mission.status, mission.published_at) == (Mission.Status.AWAITING, None)
    assert list(eligible_missions(facts_of(other))) == []
    with pytest.raises(Mission.DoesNotExist):
        claim_mission(volunteer=other, mission_id=mission.pk)
    event = AuditEvent.objects.get(action="army.mission_approval_requested")
    assert (event.actor, event.object_id, event.details) == (
        sam.user,
        str(mission.pk),
        {"points": 51, "cap": 50},
    )


def test_the_runner_is_told_on_the_page_that_the_mission_went_to_hq(settings, sam, team):
    settings.MISSION_MAX_POINTS = 50
    mission = MissionFactory.create(by=sam.user, team=team, points=1000, publish=False)
    response = client_of(sam.user).post(
        reverse("army:mission_publish", args=[mission.pk]), {"confirm": "1"}, follow=True
    )
    assert flashed(response) == [
        "Mission envoyée au QG : ses 1000 points dépassent le plafond de 50. Elle sera publiée "
        "quand un membre du QG l'aura approuvée."
    ]
    mission.refresh_from_db()
    assert mission.status == Mission.Status.AWAITING


def test_another_hq_member_approves_it_then_it_is_published_dispatched_and_audited(
    settings, sam, team, hq
):
    settings.MISSION_MAX_POINTS = 50
    other = VolunteerFactory.create(roles=ACTIVE_CHATTER, teams=[team])
    mission = MissionFactory.create(by=sam.user, team=team, points=200, publish=False)
    publish_mission(mission=mission, by=sam.user)
    page = client_of(hq).get(reverse("army:mission_approvals"))
    assert [m.pk for m in page.context["missions"]] == [mission.pk]
    response = client_of(hq).post(
        reverse("army:mission_decide", args=[mission.pk]), {"decision": "approve"}, follow=True
    )
    assert flashed(response) == ["Mission approuvée et publiée : 1 volontaire prévenu."]
    mission.refresh_from_db()
    assert (mission.status, mission.decided_by) == (Mission.Status.PUBLISHED, hq)
    assert list(eligible_missions(facts_of(other))) == [mission]
    event = AuditEvent.objects.get(action="army.mission_approved")
    assert (event.actor, event.object_id, event.details["points"]) == (hq, str(mission.pk), 200)
    # Approving again publishes nothing more.
    with pytest.raises(MissionError, match="n'attend plus de décision"):
        oversight.approve_mission(mission=mission, by=hq)
    assert AuditEvent.objects.filter(action="army.mission_approved").count() == 1


def test_hq_above_the_cap_needs_another_hq_member(settings, hq, hq_admin):
    settings.MISSION_MAX_POINTS = 50
    mission = MissionFactory.create(by=hq, points=300, publish=False)
    publish_mission(mission=mission, by=hq)
    mission.refresh_from_db()
    assert mission.status == Mission.Status.AWAITING
    for decide in (oversight.approve_mission, oversight.refuse_mission):
        with pytest.raises(MissionError, match="un autre membre du QG"):
            decide(mission=mission, by=hq)
    mission.refresh_from_db()
    assert (mission.status, mission.decided_by) == (Mission.Status.AWAITING, None)
    page = client_of(hq).get(reverse("army:mission_approvals")).text
    assert reverse("army:mission_decide", args=[mission.pk]) not in page
    oversight.approve_mission(mission=mission, by=hq_admin)
    mission.refresh_from_db()
    assert (mission.status, mission.decided_by) == (Mission.Status.PUBLISHED, hq_admin)


def test_a_refused_mission_is_never_published_and_the_refusal_is_audited(settings, sam, team, hq):
    settings.MISSION_MAX_POINTS = 50
    mission = MissionFactory.create(by=sam.user, team=team, points=1000, publish=False)
    publish_mission(mission=mission, by=sam.user)
    client_of(hq).post(
        reverse("army:mission_decide", args=[mission.pk]),
        {"decision": "refuse", "reason": "Mille points pour un message de forum ?"},
    )
    mission.refresh_from_db()
    assert (mission.status, mission.decided_by) == (Mission.Status.REFUSED, hq)
    event = AuditEvent.objects.get(action="army.mission_refused")
    assert (event.actor, event.details["reason"]) == (hq, "Mille points pour un message de forum ?")
    with pytest.raises(MissionError):
        publish_mission(mission=mission, by=sam.user)
    mission.refresh_from_db()
    assert mission.status == Mission.Status.REFUSED


@pytest.mark.parametrize("who", ["coordinator", "volunteer"])
def test_only_hq_sees_and_decides_missions_awaiting_approval(settings, who, request, sam, team):
    settings.MISSION_MAX_POINTS = 50
    Membership.objects.create(
        team=team, user=request.getfixturevalue("coordinator"), state="member", is_coordinator=True
    )
    mission = MissionFactory.create(by=sam.user, team=team, points=1000, publish=False)
    publish_mission(mission=mission, by=sam.user)
    client = client_of(request.getfixturevalue(who))
    assert client.get(reverse("army:mission_approvals")).status_code == 403
    response = client.post(
        reverse("army:mission_decide", args=[mission.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    mission.refresh_from_db()
    assert (mission.status, mission.decided_by) == (Mission.Status.AWAITING, None)
    assert not AuditEvent.objects.filter(action="army.mission_approved").exists()


# --- Sudden jumps in points ---------------------------------------------------------------------


def earned(volunteer: Any, points: int, ago: timedelta) -> Claim:
    """An accepted claim worth `points`, reviewed `ago` before now."""
    mission = MissionFactory.create(publish=False, title=f"M{points}-{ago}")
    return Claim.objects.create(
        mission=mission,
        volunteer=volunteer,
        status=Claim.Status.ACCEPTED,
        points=points,
        reviewed_at=timezone.now() - ago,
    )


@pytest.fixture
def earners(settings: Any) -> dict[str, Any]:
    settings.MISSION_POINTS_JUMP_FACTOR = 3
    settings.MISSION_POINTS_JUMP_FLOOR = 100
    week, day, hour = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
    people = {
        name: VolunteerFactory.create(email=f"{name.lower()}@exemple.fr", first_name=name)
        for name in ("Ana", "Bob", "Sam", "Dan", "Eve", "Fay")
    }
    for n in range(1, 9):  # eight weeks before the last seven days
        earned(people["Ana"], 40, week * n + day)
        earned(people["Bob"], 100, week * n + day)
        earned(people["Eve"], 280, week * n + day)
    earned(people["Ana"], 60, 2 * day)  # steady: 60 against 40 a week
    earned(people["Bob"], 150, 2 * day)  # above the floor, not 3 x 100
    earned(people["Sam"], 10, 30 * day)  # almost nothing before…
    earned(people["Sam"], 200, day + hour)  # …then 400 in two days
    earned(people["Sam"], 200, 2 * hour)
    earned(people["Dan"], 120, 3 * day)  # a newcomer above the floor
    earned(people["Eve"], 130, 2 * hour)  # 24 h: 130 against 40 a day
    earned(people["Fay"], 30, 10 * week)  # older than the eight weeks: not counted
    Invitation.objects.create(
        inviter=people["Fay"],
        email_hash="f" * 64,
        status=Invitation.Status.CONFIRMED,
        confirmed_at=timezone.now() - 3 * day,
        points=150,
    )
    return people


def test_the_jump_list_shows_sudden_jumps_over_a_week_or_a_day_and_nobody_steady(earners):
    assert [
        (j.name, j.last_day, j.last_week, j.weekly_average) for j in oversight.points_jumps()
    ] == [
        ("Sam", 200, 400, 1.25),
        ("Fay", 0, 150, 0.0),
        ("Eve", 130, 130, 280.0),
        ("Dan", 0, 120, 0.0),
    ]


def test_hq_sees_the_jumps_each_linked_to_the_persons_accepted_work(
    earners, hq, django_assert_num_queries
):
    client = client_of(hq)
    client.get(reverse("army:points_jumps"))  # warm the session
    with django_assert_num_queries(4):  # session, user, the jumps, the menu's counts
        page = client.get(reverse("army:points_jumps"))
    sam = earners["Sam"]
    work_url = reverse("army:accepted_work", args=[sam.pk])
    assert work_url in page.text
    work = client.get(work_url)
    assert work.status_code == 200
    assert sorted(c.points for c in work.context["work"].claims) == [10, 200, 200]
    assert reverse("army:accepted_work", args=[earners["Ana"].pk]) not in page.text


@pytest.mark.parametrize("who", ["coordinator", "volunteer"])
def test_only_hq_sees_the_jumps_and_the_accepted_work(earners, who, request):
    client = client_of(request.getfixturevalue(who))
    assert client.get(reverse("army:points_jumps")).status_code == 403
    work_url = reverse("army:accepted_work", args=[earners["Sam"].pk])
    assert client.get(work_url).status_code == 403
