"""The volunteer's own space: their data, their roles and history, their teams; nobody else's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Membership
from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import RoleAssignment, Stage, Volunteer, window_mask
from essaim.army.tests.factories import TeamFactory, VolunteerFactory

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
    team = TeamFactory.create(name="Lyon 3e", departement="69")
    volunteer = VolunteerFactory.create(roles=["traceur"], teams=[team])
    volunteer.assignments.get().move_to(Stage.TRAINED, by=coordinator)
    TeamFactory.create(name="Marseille")  # not theirs
    html = client_of(volunteer).get(PROFILE).content.decode()
    assert "Traceur" in html
    assert "Candidat → Formé" in html
    assert "Lyon 3e · Membre" in html
    assert "Marseille" not in html


def test_a_volunteer_never_sees_another_volunteers_data():
    VolunteerFactory.create(email="autre@exemple.fr", first_name="Secrète", roles=["mondain"])
    me = VolunteerFactory.create(first_name="Louise", roles=["traceur"])
    html = client_of(me).get(PROFILE).content.decode()
    assert "Secrète" not in html
    assert "autre@exemple.fr" not in html
    assert "Mondain" not in html.split("Ajouter un rôle")[0]


def test_editing_the_profile_saves_it_and_adds_roles_at_stage_applied():
    volunteer = VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, postcode="75011")
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
    ("change", "errors"),
    [
        ({"postcode": "00000"}, {"postcode": ["Le code postal 00000 n'existe pas."]}),
        ({"postcode": "abc"}, {"postcode": ["Un code postal s'écrit avec cinq chiffres."]}),
        (
            {"weekly_hours": "-3"},
            {"weekly_hours": ["Assurez-vous que cette valeur est supérieure ou égale à 1."]},
        ),
        (
            {"windows": ["99"]},
            {"windows": ["Sélectionnez un choix valide. 99 n’en fait pas partie."]},
        ),
        (
            {"languages": ["klingon"]},
            {"languages": ["Sélectionnez un choix valide. klingon n’en fait pas partie."]},
        ),
        (  # already held: not offered
            {"add_roles": ["traceur"]},
            {"add_roles": ["Sélectionnez un choix valide. traceur n’en fait pas partie."]},
        ),
        ({"first_name": "   "}, {"first_name": ["Ce champ est obligatoire."]}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(change, errors):
    volunteer = VolunteerFactory.create(roles=["traceur"], postcode="75011", weekly_hours=2)
    response = client_of(volunteer).post(PROFILE, {**EDIT, **change})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
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
    few = VolunteerFactory.create(roles=["traceur"], teams=[TeamFactory.create()])
    many = VolunteerFactory.create(
        roles=["traceur", "tchatcheur", "mondain", "veilleur"], teams=TeamFactory.create_batch(2)
    )
    for assignment in RoleAssignment.objects.filter(volunteer=many):
        assignment.move_to(Stage.TRAINED, by=coordinator)
    Membership.objects.filter(user=many.user).update(is_coordinator=True)
    clients = [client_of(few), client_of(many)]
    clients[0].get(PROFILE)  # warm the session
    clients[1].get(PROFILE)
    # session, user, volunteer, roles held, their transitions, open roles, memberships,
    # whether they may invite, invitations asked, invitations confirmed, the menu's counts,
    # whether they coordinate a team (the menu's Missions entry)
    for client in clients:
        with django_assert_num_queries(12):
            assert client.get(PROFILE).status_code == 200


def test_a_volunteer_without_a_password_sets_one_and_logs_in_with_it():
    volunteer = VolunteerFactory.create(email="louise@exemple.fr")
    client = client_of(volunteer)
    assert "old_password" not in client.get(PASSWORD_URL).content.decode()
    response = client.post(
        PASSWORD_URL, {"new_password1": "cerises-en-1871", "new_password2": "cerises-en-1871"}
    )
    assert response.status_code == 302
    assert Client().login(username="louise@exemple.fr", password="cerises-en-1871")


def test_changing_a_password_asks_for_the_current_one():
    volunteer = VolunteerFactory.create(email="louise@exemple.fr", password=PASSWORD)
    client = client_of(volunteer)
    response = client.post(
        PASSWORD_URL,
        {"old_password": "faux", "new_password1": "cerises-1871", "new_password2": "cerises-1871"},
    )
    assert response.status_code == 200
    assert Client().login(username="louise@exemple.fr", password=PASSWORD)
