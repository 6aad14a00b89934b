"""Mission pages: "Mes missions" in a fixed number of queries, claim and proof from the phone,
the review queue, leaderboards and settings; foreign or forged ids are 404 and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Membership, Notification, NotificationSettings
from essaim.army.models import (
    OWN_NAME_REMINDER,
    Claim,
    Mission,
    Proof,
    Stage,
    VolunteerMissionSettings,
)
from essaim.army.services.missions import claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)
from essaim.army.tests.mission_helpers import image_upload

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chatter() -> Any:
    return VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana")


def test_my_missions_lists_offers_and_claims_with_the_reminder(chatter):
    offered = MissionFactory.create(title="Relayer le discours")
    taken = MissionFactory.create(title="Déjà prise")
    claim_mission(volunteer=chatter, mission_id=taken.pk)
    MissionFactory.create(title="Pour les traceurs", role_slug="traceur")
    response = client_for(chatter.user).get(reverse("army:my_missions"))
    assert response.status_code == 200
    assert [m.title for m in response.context["offers"]] == [offered.title]
    assert [c.mission.title for c in response.context["claims"]] == ["Déjà prise"]
    assert str(OWN_NAME_REMINDER) in response.content.decode()


@pytest.mark.parametrize("n_missions", [1, 12])
def test_my_missions_runs_a_fixed_number_of_queries(chatter, django_assert_num_queries, n_missions):
    team = TeamFactory.create(coordinators=[])
    Membership.objects.create(team=team, user=chatter.user, state=Membership.State.MEMBER)
    for n in range(n_missions):
        mission = MissionFactory.create(title=f"M{n}", team=team if n % 2 else None)
        if n < 3:
            claim_mission(volunteer=chatter, mission_id=mission.pk)
    client = client_for(chatter.user)
    # session, user, volunteer, roles, teams, offers, claims, unread notifications (one query
    # for the page's count and the menu's), whether they coordinate a team (the menu's entry)
    with django_assert_num_queries(9):
        assert client.get(reverse("army:my_missions")).status_code == 200


def test_a_volunteer_claims_proves_with_a_screenshot_and_the_claim_awaits_review(chatter):
    mission = MissionFactory.create()
    client = client_for(chatter.user)
    assert client.post(reverse("army:mission_claim", args=[mission.pk])).status_code == 302
    response = client.post(
        reverse("army:mission_prove", args=[mission.pk]),
        {"urls": "https://forum.exemple.fr/t/1\n", "note": "Fait", "screenshot": image_upload()},
    )
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert (claim.status, str(Proof.objects.get().screenshot.name).endswith(".png")) == (
        Claim.Status.SUBMITTED,
        True,
    )


def test_a_bad_proof_url_is_shown_back_with_its_error_and_nothing_changes(chatter):
    mission = MissionFactory.create()
    claim_mission(volunteer=chatter, mission_id=mission.pk)
    response = client_for(chatter.user).post(
        reverse("army:mission_prove", args=[mission.pk]), {"urls": "javascript:alert(1)"}
    )
    assert response.status_code == 400
    assert "Seules les adresses http:// ou https://" in response.content.decode()
    assert (Claim.objects.get().status, Proof.objects.count()) == (Claim.Status.CLAIMED, 0)


@pytest.mark.parametrize("forged", ["foreign", "missing"])
def test_forged_or_foreign_mission_ids_are_404_and_change_nothing(chatter, forged):
    foreign = MissionFactory.create(role_slug="traceur")
    target = foreign.pk if forged == "foreign" else 987_654
    client = client_for(chatter.user)
    for name in ("mission_detail",):
        assert client.get(reverse(f"army:{name}", args=[target])).status_code == 404
    for name in ("mission_claim", "mission_release", "mission_prove"):
        assert (
            client.post(
                reverse(f"army:{name}", args=[target]), {"urls": "https://a.fr/"}
            ).status_code
            == 404
        )
    foreign.refresh_from_db()
    assert (Claim.objects.count(), Proof.objects.count(), foreign.slots_taken) == (0, 0, 0)


def test_another_volunteers_claim_cannot_be_proved_reviewed_or_its_screenshot_read(chatter):
    mission = MissionFactory.create()
    other = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    claim = claim_mission(volunteer=other, mission_id=mission.pk)
    proof = submit_proof(claim=claim, urls=[], screenshot=image_upload())
    client = client_for(chatter.user)
    assert client.get(reverse("army:proof_screenshot", args=[proof.pk])).status_code == 404
    assert (
        client.post(reverse("army:review", args=[claim.pk]), {"decision": "accept"}).status_code
        == 404
    )
    assert client.get(reverse("army:review_queue")).status_code == 403
    claim.refresh_from_db()
    assert (claim.status, claim.points) == (Claim.Status.SUBMITTED, 0)
    owner = client_for(other.user).get(reverse("army:proof_screenshot", args=[proof.pk]))
    body = b"".join(owner.streaming_content)  # type: ignore[attr-defined]
    assert (owner.status_code, body[:4]) == (200, b"\x89PNG")


def test_the_coordinator_returns_then_accepts_from_the_queue(chatter, coordinator):
    team = TeamFactory.create(coordinators=[coordinator])
    Membership.objects.create(team=team, user=chatter.user, state=Membership.State.MEMBER)
    mission = MissionFactory.create(team=team, points=12)
    claim = claim_mission(volunteer=chatter, mission_id=mission.pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/1"])
    client = client_for(coordinator)
    queue = client.get(reverse("army:review_queue"))
    assert [c.pk for c in queue.context["claims"]] == [claim.pk]
    client.post(
        reverse("army:review", args=[claim.pk]), {"decision": "return", "feedback": "Lien cassé"}
    )
    mine = client_for(chatter.user).get(reverse("army:mission_detail", args=[mission.pk]))
    assert "Lien cassé" in mine.content.decode()
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/2"])
    client.post(reverse("army:review", args=[claim.pk]), {"decision": "accept"})
    claim.refresh_from_db()
    assert (claim.status, claim.points) == (Claim.Status.ACCEPTED, 12)
    board = client.get(reverse("army:leaderboard") + f"?team={team.pk}&period=week")
    assert [(s.name, s.points) for s in board.context["standings"]] == [("Ana", 12)]


def test_the_review_queue_runs_a_fixed_number_of_queries(hq, django_assert_num_queries):
    for n in range(4):
        volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
        claim = claim_mission(
            volunteer=volunteer, mission_id=MissionFactory.create(title=f"M{n}").pk
        )
        submit_proof(claim=claim, urls=[f"https://forum.exemple.fr/t/{n}"])
    client = client_for(hq)
    # session, user, claims (with mission, team, volunteer), proofs, links, the menu's counts
    with django_assert_num_queries(6):
        assert client.get(reverse("army:review_queue")).status_code == 200


def test_mission_settings_change_the_leaderboard_opt_out_and_point_to_the_digest(chatter):
    client = client_for(chatter.user)
    page = client.get(reverse("army:mission_settings")).content.decode()
    assert f'<a href="{reverse("accounts:notifications")}">Notifications</a>' in page
    response = client.post(
        reverse("army:mission_settings"), {"digest": "weekly", "leaderboard_opt_out": "on"}
    )
    assert response.status_code == 302
    prefs = VolunteerMissionSettings.objects.get(pk=chatter.pk)
    assert prefs.leaderboard_opt_out is True
    # The digest is chosen on the notifications page, for everyone: nothing set here.
    assert not NotificationSettings.objects.exists()


def test_opening_a_mission_marks_its_notifications_read(chatter):
    mission = MissionFactory.create()
    other = MissionFactory.create()
    unread = Notification.objects.filter(recipient=chatter.user, read_at__isnull=True)
    assert unread.count() == 2
    client_for(chatter.user).get(reverse("army:mission_detail", args=[mission.pk]))
    assert list(unread.values_list("object_id", flat=True)) == [other.pk]


def test_taking_a_mission_reads_its_offer(chatter):
    mission = MissionFactory.create()
    client_for(chatter.user).post(reverse("army:mission_claim", args=[mission.pk]))
    assert not Notification.objects.filter(recipient=chatter.user, read_at__isnull=True).exists()


def test_a_coordinator_creates_and_publishes_a_team_mission_without_hq(coordinator, chatter):
    team = TeamFactory.create(coordinators=[coordinator])
    Membership.objects.create(team=team, user=chatter.user, state=Membership.State.MEMBER)
    client = client_for(coordinator)
    response = client.post(
        reverse("army:mission_create"),
        {
            "team": str(team.pk),
            "kind": "relay",
            "role": str(chatter.assignments.get().role_id),
            "title": "Répondre sur le forum local",
            "brief": "Avec vos mots.",
            "stages": ["active"],
            "quota": "5",
            "deadline": "2099-01-01T12:00",
            "points": "10",
            "per_volunteer_minutes": "30",
            "target_sites": "https://forum.exemple.fr/t/9",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    mission = Mission.objects.get()
    client.post(reverse("army:mission_publish", args=[mission.pk]), {"confirm": "1"})
    mission.refresh_from_db()
    assert (mission.team, mission.status, mission.target_sites) == (
        team,
        Mission.Status.PUBLISHED,
        ["https://forum.exemple.fr/t/9"],
    )
    assert list(Notification.objects.values_list("recipient", "kind")) == [
        (chatter.pk, "mission_offered")
    ]


def test_a_coordinator_cannot_create_a_national_mission_or_one_for_another_team(coordinator):
    TeamFactory.create(coordinators=[coordinator])
    other = TeamFactory.create()
    client = client_for(coordinator)
    base = {
        "kind": "relay",
        "role": "1",
        "title": "x",
        "brief": "x",
        "stages": ["active"],
        "quota": "1",
        "deadline": "2099-01-01T12:00",
        "points": "1",
        "per_volunteer_minutes": "5",
    }
    national = client.post(reverse("army:mission_create"), {**base, "team": ""})
    foreign = client.post(reverse("army:mission_create"), {**base, "team": str(other.pk)})
    # Neither scope is offered to them: the form again, with the error on the team.
    assert (national.status_code, foreign.status_code) == (200, 200)
    assert national.context["form"].errors == {"team": ["Ce champ est obligatoire."]}
    assert foreign.context["form"].errors == {
        "team": [f"Sélectionnez un choix valide. {other.pk} n’en fait pas partie."]
    }
    assert Mission.objects.count() == 0
