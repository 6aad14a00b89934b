"""Teams: a volunteer asks to join, a coordinator of the team decides; the dashboard; who may do
what (volunteer, coordinator of this team, coordinator of another team, HQ, anonymous)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent, Membership, Team
from essaim.army import rules
from essaim.army.models import Stage, window_mask
from essaim.army.tests.factories import TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db

TEAM_LIST = reverse("army:team_list")


def client_of(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def memberships() -> list[tuple[Any, ...]]:
    return list(
        Membership.objects.order_by("pk").values_list(
            "team", "user", "state", "is_coordinator", "decided_by"
        )
    )


@pytest.fixture
def cast(coordinator, other_coordinator, hq) -> dict[str, Any]:
    """A Lyon team run by `coordinator`, another run by `other_coordinator`, a member, and a
    volunteer of Lyon who has asked to join."""
    team = TeamFactory.create(name="Lyon 3e", departement="69", coordinators=[coordinator])
    other = TeamFactory.create(name="Marseille", departement="13", coordinators=[other_coordinator])
    member = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, postcode="69003", teams=[team]
    )
    applicant = VolunteerFactory.create(
        roles=["traceur"], postcode="69003", windows=window_mask([(5, 2)]), weekly_hours=3
    )
    request = Membership.objects.create(
        team=team, user=applicant.user, state=Membership.State.REQUESTED, message="Je suis là"
    )
    return {
        "team": team,
        "other": other,
        "member": member,
        "applicant": applicant,
        "request": request,
        "coordinator": coordinator,
        "other_coordinator": other_coordinator,
        "hq": hq,
    }


# --- Joining ----------------------------------------------------------------------------------


def test_a_volunteer_sees_the_local_teams_of_their_departement_and_the_thematic_ones(cast):
    TeamFactory.create(name="Vidéo", kind=Team.Kind.THEMATIC, departement="")
    TeamFactory.create(name="Villeurbanne", departement="69")
    Team.objects.filter(pk=TeamFactory.create(name="Fermée", departement="69").pk).update(
        accepts_requests=False
    )
    volunteer = VolunteerFactory.create(postcode="69100")
    html = client_of(volunteer.user).get(TEAM_LIST).content.decode()
    assert "Rejoindre Lyon 3e" in html and "Rejoindre Villeurbanne" in html
    assert "Rejoindre Vidéo" in html
    assert "Marseille" not in html
    assert "Fermée" not in html


def test_a_volunteer_asks_to_join_and_the_coordinator_approves(cast):
    volunteer = VolunteerFactory.create(postcode="69003")
    team = cast["team"]
    response = client_of(volunteer.user).post(
        reverse("army:team_join", args=[team.pk]), {"message": "Dispo le soir"}
    )
    assert response.status_code == 302
    request = Membership.objects.get(team=team, user=volunteer.user)
    assert (request.state, request.message) == (Membership.State.REQUESTED, "Dispo le soir")
    dashboard = client_of(cast["coordinator"]).get(reverse("army:team_dashboard", args=[team.pk]))
    assert "Dispo le soir" in dashboard.content.decode()
    client_of(cast["coordinator"]).post(
        reverse("army:team_decide", args=[team.pk, request.pk]), {"decision": "approve"}
    )
    request.refresh_from_db()
    assert (request.state, request.decided_by) == (Membership.State.MEMBER, cast["coordinator"])
    assert AuditEvent.objects.filter(action="army.join_approved").count() == 1
    assert (
        "Lyon 3e · Membre"
        in client_of(volunteer.user).get(reverse("army:profile")).content.decode()
    )


def test_a_declined_volunteer_may_ask_again(cast):
    request = cast["request"]
    client_of(cast["coordinator"]).post(
        reverse("army:team_decide", args=[cast["team"].pk, request.pk]), {"decision": "decline"}
    )
    request.refresh_from_db()
    assert request.state == Membership.State.DECLINED
    client_of(cast["applicant"].user).post(reverse("army:team_join", args=[cast["team"].pk]))
    request.refresh_from_db()
    assert (request.state, request.decided_by) == (Membership.State.REQUESTED, None)


def test_deciding_twice_makes_one_decision(cast):
    url = reverse("army:team_decide", args=[cast["team"].pk, cast["request"].pk])
    client_of(cast["coordinator"]).post(url, {"decision": "approve"})
    client_of(cast["hq"]).post(url, {"decision": "decline"})
    cast["request"].refresh_from_db()
    assert cast["request"].state == Membership.State.MEMBER
    assert AuditEvent.objects.filter(action__startswith="army.join").count() == 1


def test_a_member_leaves_and_is_no_longer_dispatched_through_the_team(cast):
    from essaim.army.models import Volunteer

    member = cast["member"]
    client_of(member.user).post(reverse("army:team_leave", args=[cast["team"].pk]))
    assert list(Volunteer.objects.in_team([cast["team"].pk])) == []


def test_a_join_message_too_long_is_refused_and_nothing_is_written(cast):
    volunteer = VolunteerFactory.create(postcode="69003")
    before = memberships()
    client_of(volunteer.user).post(
        reverse("army:team_join", args=[cast["team"].pk]), {"message": "x" * 301}
    )
    assert memberships() == before


def test_an_unknown_decision_changes_nothing(cast):
    before = memberships()
    client_of(cast["coordinator"]).post(
        reverse("army:team_decide", args=[cast["team"].pk, cast["request"].pk]),
        {"decision": "peut-être"},
    )
    assert memberships() == before


# --- The dashboard ----------------------------------------------------------------------------


def test_the_dashboard_shows_members_roles_stages_and_availability(cast):
    html = (
        client_of(cast["coordinator"])
        .get(reverse("army:team_dashboard", args=[cast["team"].pk]))
        .content.decode()
    )
    assert 'Tchatcheur · <span class="stage stage-active">Actif</span>' in html
    assert 'Traceur · <span class="stage stage-applied">Candidat</span>' in html
    assert "3 h/semaine" in html and "samedi soir" in html
    assert "Je suis là" in html


def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_members(
    cast, django_assert_num_queries
):
    team = cast["team"]
    client = client_of(cast["coordinator"])
    url = reverse("army:team_dashboard", args=[team.pk])
    client.get(url)
    # session, user, coordinated teams (rule), team, members, their roles, requests, their roles,
    # the menu's counts
    with django_assert_num_queries(9):
        client.get(url)
    for _ in range(6):
        VolunteerFactory.create(roles=["traceur", "veilleur"], teams=[team])
        Membership.objects.create(
            team=team, user=VolunteerFactory.create().user, state=Membership.State.REQUESTED
        )
    with django_assert_num_queries(9):
        client.get(url)


# --- Who may do what --------------------------------------------------------------------------

ACTORS = ["anonymous", "member", "other_coordinator", "coordinator", "hq"]


def actor(cast: dict[str, Any], name: str) -> Any:
    return {
        "anonymous": AnonymousUser(),
        "member": cast["member"].user,
        "other_coordinator": cast["other_coordinator"],
        "coordinator": cast["coordinator"],
        "hq": cast["hq"],
    }[name]


@pytest.mark.parametrize(
    ("name", "runs", "manages", "moves"),
    [
        ("anonymous", False, False, False),
        ("member", False, False, False),
        ("other_coordinator", False, False, False),
        ("coordinator", True, False, True),
        ("hq", True, True, True),
    ],
)
def test_rules_for_each_actor(cast, name, runs, manages, moves):
    user = actor(cast, name)
    assert rules.can_run_team(user, cast["team"]) is runs
    assert rules.can_manage_teams(user) is manages
    assert rules.can_move_roles_of(user, cast["member"]) is moves
    assert rules.can_request_to_join(user, cast["other"]) is (name == "member")


@pytest.mark.parametrize("name", ["anonymous", "member", "other_coordinator"])
def test_those_who_do_not_run_the_team_are_refused_everything_and_nothing_changes(cast, name):
    team, request = cast["team"], cast["request"]
    client = client_of(None if name == "anonymous" else actor(cast, name))
    before = (memberships(), AuditEvent.objects.count())
    refused = (302, 403) if name == "anonymous" else (403,)
    for method, url, data in [
        ("get", reverse("army:team_dashboard", args=[team.pk]), {}),
        ("post", reverse("army:team_decide", args=[team.pk, request.pk]), {"decision": "approve"}),
        ("get", reverse("army:member_detail", args=[team.pk, cast["member"].pk]), {}),
        (
            "post",
            reverse("army:team_coordinator", args=[team.pk, request.pk]),
            {"coordinator": "1"},
        ),
        ("get", reverse("army:team_create"), {}),
        (
            "post",
            reverse("army:team_create"),
            {"name": "Pirates", "kind": "local", "departement": "69"},
        ),
    ]:
        response = getattr(client, method)(url, data)
        assert response.status_code in refused, (method, url, response.status_code)
    assert (memberships(), AuditEvent.objects.count()) == before
    assert not Team.objects.filter(name="Pirates").exists()


def test_a_team_coordinator_cannot_appoint_coordinators(cast):
    membership = Membership.objects.get(team=cast["team"], user=cast["member"].user)
    before = memberships()
    response = client_of(cast["coordinator"]).post(
        reverse("army:team_coordinator", args=[cast["team"].pk, membership.pk]),
        {"coordinator": "1"},
    )
    assert response.status_code == 403
    assert memberships() == before


def test_hq_creates_a_team_and_appoints_a_coordinator(cast):
    client = client_of(cast["hq"])
    response = client.post(
        reverse("army:team_create"),
        {"name": "Rhône nord", "kind": "local", "departement": "69", "accepts_requests": "on"},
    )
    team = Team.objects.get(name="Rhône nord")
    assert (response.status_code, team.departement, team.region) == (302, "69", "84")
    volunteer = VolunteerFactory.create(teams=[team])
    membership = Membership.objects.get(team=team, user=volunteer.user)
    client.post(
        reverse("army:team_coordinator", args=[team.pk, membership.pk]), {"coordinator": "1"}
    )
    assert rules.is_team_coordinator(volunteer.user, team)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"name": "X", "kind": "local", "departement": ""},
            {"departement": ["Une équipe locale a un département."]},
        ),
        (
            {"name": "X", "kind": "local", "departement": "999"},
            {"departement": ["Ce département n'existe pas."]},
        ),
        (
            {"name": "Lyon 3e", "kind": "local", "departement": "69"},
            {"name": ["Un objet Équipe avec ce champ Nom existe déjà."]},
        ),
        (
            {"name": "X", "kind": "secret", "departement": "69"},
            {"kind": ["Sélectionnez un choix valide. secret n’en fait pas partie."]},
        ),
    ],
)
def test_a_bad_team_is_refused_with_a_clear_error(cast, data, errors):
    count = Team.objects.count()
    response = client_of(cast["hq"]).post(reverse("army:team_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert Team.objects.count() == count


def test_a_volunteer_cannot_join_a_closed_team(cast):
    Team.objects.filter(pk=cast["other"].pk).update(accepts_requests=False)
    before = memberships()
    response = client_of(cast["member"].user).post(
        reverse("army:team_join", args=[cast["other"].pk])
    )
    assert response.status_code == 403
    assert memberships() == before


def test_forged_ids_get_404_and_change_nothing(cast):
    client = client_of(cast["coordinator"])
    team = cast["team"]
    foreign_request = Membership.objects.create(
        team=cast["other"], user=VolunteerFactory.create().user, state=Membership.State.REQUESTED
    )
    before = memberships()
    assert (
        client.post(
            reverse("army:team_decide", args=[team.pk, foreign_request.pk]), {"decision": "approve"}
        ).status_code
        == 404
    )
    assert client.get(reverse("army:team_dashboard", args=[99999])).status_code == 404
    assert memberships() == before
