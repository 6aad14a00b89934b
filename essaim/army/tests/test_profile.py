"""The volunteer's own space: their data, their roles and history, their teams; nobody else's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Membership
from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import RoleAssignment, Stage, Volunteer, window_mask
from essaim.army.tests.factories import make_team, make_volunteer

pytestmark = pytest.mark.django_db

PROFILE = reverse("army:profile")
PASSWORD_URL = reverse("army:password")
EDIT = {
    "first_name": "Louise",
    "postcode": "13001",
    "weekly_hours": "6",
    "windows": ["0", "20"],
    "skills": "montage vidéo",
    "languages": ["fr", "oc"],
    "add_roles": ["veilleur"],
}


def client_of(volunteer: Volunteer) -> Client:
    client = Client()
    client.force_login(volunteer.user)
    return client


def test_a_volunteer_sees_their_roles_with_history_and_their_teams(coordinator):
    team = make_team("Lyon 3e", departement="69")
    volunteer = make_volunteer(roles=["traceur"], teams=[team])
    volunteer.assignments.get().move_to(Stage.TRAINED, by=coordinator)
    make_team("Marseille")  # not theirs
    html = client_of(volunteer).get(PROFILE).content.decode()
    assert "Traceur" in html
    assert "Candidat → Formé" in html
    assert "Lyon 3e · Membre" in html
    assert "Marseille" not in html


def test_a_volunteer_never_sees_another_volunteers_data():
    make_volunteer("autre@exemple.fr", first_name="Secrète", roles=["mondain"])
    me = make_volunteer(first_name="Louise", roles=["traceur"])
    html = client_of(me).get(PROFILE).content.decode()
    assert "Secrète" not in html
    assert "autre@exemple.fr" not in html
    assert "Mondain" not in html.split("Ajouter un rôle")[0]


def test_editing_the_profile_saves_it_and_adds_roles_at_stage_applied():
    volunteer = make_volunteer(roles={"traceur": Stage.ACTIVE}, postcode="75011")
    response = client_of(volunteer).post(PROFILE, EDIT)
    assert (response.status_code, response["Location"]) == (302, PROFILE)
    volunteer.refresh_from_db()
    assert (
        volunteer.postcode,
        volunteer.departement,
        volunteer.region,
        volunteer.weekly_hours,
        volunteer.windows,
        volunteer.skills,
        volunteer.languages,
    ) == ("13001", "13", "93", 6, window_mask([(0, 0), (6, 2)]), ["montage vidéo"], ["fr", "oc"])
    assert sorted(volunteer.assignments.values_list("role__slug", "stage")) == [
        ("traceur", Stage.ACTIVE),
        ("veilleur", Stage.APPLIED),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"postcode": "00000"},
        {"postcode": "abc"},
        {"weekly_hours": "-3"},
        {"windows": ["99"]},
        {"languages": ["klingon"]},
        {"add_roles": ["traceur"]},  # already held: not offered
        {"first_name": "   "},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(change):
    volunteer = make_volunteer(roles=["traceur"], postcode="75011", weekly_hours=2)
    response = client_of(volunteer).post(PROFILE, {**EDIT, **change})
    assert response.status_code == 200
    assert response.context["form"].errors
    volunteer.refresh_from_db()
    assert (volunteer.postcode, volunteer.weekly_hours, volunteer.windows) == ("75011", 2, 0)
    assert volunteer.assignments.count() == 1


def test_a_user_without_a_volunteer_profile_gets_404(hq_client):
    assert hq_client.get(PROFILE).status_code == 404


def test_an_anonymous_visitor_is_sent_to_login(db):
    response = Client().get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_profile_page_costs_the_same_queries_whatever_the_roles_and_teams(
    django_assert_num_queries, coordinator
):
    few = make_volunteer(roles=["traceur"], teams=[make_team()])
    many = make_volunteer(
        roles=["traceur", "tchatcheur", "mondain", "veilleur"], teams=[make_team(), make_team()]
    )
    for assignment in RoleAssignment.objects.filter(volunteer=many):
        assignment.move_to(Stage.TRAINED, by=coordinator)
    Membership.objects.filter(user=many.user).update(is_coordinator=True)
    clients = [client_of(few), client_of(many)]
    clients[0].get(PROFILE)  # warm the session
    clients[1].get(PROFILE)
    # session, user, volunteer, roles held, their transitions, open roles, memberships,
    # whether they may invite, invitations asked, invitations confirmed
    for client in clients:
        with django_assert_num_queries(10):
            assert client.get(PROFILE).status_code == 200


def test_a_volunteer_without_a_password_sets_one_and_logs_in_with_it():
    volunteer = make_volunteer("louise@exemple.fr")
    client = client_of(volunteer)
    assert "old_password" not in client.get(PASSWORD_URL).content.decode()
    response = client.post(
        PASSWORD_URL, {"new_password1": "cerises-en-1871", "new_password2": "cerises-en-1871"}
    )
    assert response.status_code == 302
    assert Client().login(username="louise@exemple.fr", password="cerises-en-1871")


def test_changing_a_password_asks_for_the_current_one():
    volunteer = make_volunteer("louise@exemple.fr", password=PASSWORD)
    client = client_of(volunteer)
    response = client.post(
        PASSWORD_URL,
        {"old_password": "faux", "new_password1": "cerises-1871", "new_password2": "cerises-1871"},
    )
    assert response.status_code == 200
    assert Client().login(username="louise@exemple.fr", password=PASSWORD)
