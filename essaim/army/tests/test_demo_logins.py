"""Issue 16: every login `make run` prints lands on pages full of meaning. The demo and the
logins are made as `make run` makes them (twice: it runs them at every start), then each account
logs in with its printed password and visits every entry of its menu."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent, Membership, Notification, Team, User
from essaim.accounts.services import DEMO_COORDINATOR, DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from essaim.army.models import (
    Mission,
    RoleAssignment,
    RoleTransition,
    Stage,
    Volunteer,
)
from essaim.army.services.demo import MISSIONS, TEAM_NAME
from essaim.army.tests.demo_support import demo_twice, logged_in, make_run
from essaim.people.models import Consent, Contact, Purpose

pytestmark = pytest.mark.django_db

COUNTED: tuple[type[Model], ...] = (
    User,
    Team,
    Membership,
    Volunteer,
    RoleAssignment,
    RoleTransition,
    Mission,
    Notification,
    Contact,
    Consent,
    AuditEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in COUNTED}


@pytest.fixture
def demo(settings: object) -> dict[str, str]:
    return demo_twice(settings, 20)


def menu(client: Client) -> dict[str, str]:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    items = dict(response.context["nav_items"])
    for url in items.values():
        assert f'href="{url}"' in response.content.decode()
    return items


def test_a_second_run_of_the_demo_creates_nothing(settings: object) -> None:
    settings.DEMO = True  # type: ignore[attr-defined]
    make_run(20)
    before = counts()
    make_run(20)
    assert counts() == before
    assert before["Team"] == 1
    assert before["Mission"] == len(MISSIONS)


def test_the_demo_prints_a_working_password_for_each_account(demo: dict[str, str]) -> None:
    assert set(demo) == {DEMO_HQ_ADMIN, DEMO_COORDINATOR, DEMO_VOLUNTEER}


@pytest.mark.parametrize("email", [DEMO_HQ_ADMIN, DEMO_COORDINATOR, DEMO_VOLUNTEER])
def test_every_menu_entry_of_every_demo_login_answers_200(demo: dict[str, str], email: str) -> None:
    client = logged_in(email, demo[email])
    items = menu(client)
    assert len(items) >= 3
    answers = {label: client.get(url).status_code for label, url in items.items()}
    assert answers == dict.fromkeys(items, 200)


def test_the_coordinator_runs_a_team_of_its_zone_with_members(demo: dict[str, str]) -> None:
    coordinator = User.objects.get(email=DEMO_COORDINATOR)
    team = Team.objects.get(name=TEAM_NAME)
    assert (team.kind, team.departement) == (Team.Kind.LOCAL, "75")
    assert team.departement in coordinator.zones
    states = dict(team.memberships.values_list("user__email", "state"))
    assert states[DEMO_COORDINATOR] == Membership.State.MEMBER
    assert team.memberships.get(user=coordinator).is_coordinator
    assert list(states.values()).count(Membership.State.MEMBER) == 5  # coordinator + 4
    assert list(states.values()).count(Membership.State.REQUESTED) == 1

    client = logged_in(DEMO_COORDINATOR, demo[DEMO_COORDINATOR])
    assert "Missions" in menu(client)
    page = client.get(reverse("army:missions_run")).content.decode()
    assert TEAM_NAME in page
    for _kind, _role, title, _brief in MISSIONS:
        assert title.replace("'", "&#x27;") in page
    assert TEAM_NAME in client.get(reverse("army:team_list")).content.decode()


def test_the_volunteer_signed_up_holds_active_roles_and_is_offered_missions(
    demo: dict[str, str],
) -> None:
    volunteer = Volunteer.objects.select_related("user", "contact").get(user__email=DEMO_VOLUNTEER)
    assert (volunteer.departement, volunteer.postcode) == ("75", "75011")
    # The consent a real sign-up records, with its proof.
    consent = Consent.objects.get(contact=volunteer.contact, purpose=Purpose.VOLUNTEERING)
    assert consent.status == Consent.Status.GRANTED
    assert consent.confirmed_at is not None
    roles = dict(volunteer.assignments.values_list("role__slug", "stage"))
    assert roles == {
        "mondain": Stage.ACTIVE,
        "tchatcheur": Stage.ACTIVE,
        "traceur": Stage.ACTIVE,
    }
    assert Membership.objects.get(user=volunteer.user, team__name=TEAM_NAME).state == (
        Membership.State.MEMBER
    )

    client = logged_in(DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    assert {"Mon espace", "Mes missions", "Mes invitations"} <= set(menu(client))
    page = client.get(reverse("army:my_missions")).content.decode()
    for _kind, _role, title, _brief in MISSIONS:
        assert title.replace("'", "&#x27;") in page


def test_the_coordinator_and_the_volunteer_open_the_demo_on_unread_notifications(
    demo: dict[str, str],
) -> None:
    # The coordinator: Inès's request to join, and the two proofs waiting for review.
    coordinator = logged_in(DEMO_COORDINATOR, demo[DEMO_COORDINATOR])
    home = coordinator.get(reverse("home")).content.decode()
    assert 'aria-label="3 notifications non lues"' in home
    kinds = Notification.objects.filter(
        recipient__email=DEMO_COORDINATOR, read_at__isnull=True
    ).values_list("kind", flat=True)
    assert sorted(kinds) == ["join_request", "proof_to_review", "proof_to_review"]
    # The volunteer: the proof returned a week ago, and the mission they have not taken yet.
    volunteer = logged_in(DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    page = volunteer.get(reverse("accounts:notifications")).content.decode()
    assert 'aria-label="2 notifications non lues"' in page
    assert (
        "Preuve à reprendre : Relayer l&#x27;argumentaire sur les transports du quotidien" in page
    )
    assert "Nouvelle mission : Répondre aux questions sur le budget de la ville" in page
    # Everything read by the reviewers was read on the day it was reviewed, not at the demo's run.
    reviewed = Notification.objects.filter(kind="proof_to_review", read_at__isnull=False)
    assert reviewed.exists()
    assert all(n.read_at is not None and n.read_at >= n.created_at for n in reviewed)
