"""A volunteer account at the head of a team runs its missions like a coordinator account, and
has the menu entry to do so; whoever runs a team reads a pending applicant's roles from the
requests table before deciding (the link used to answer 404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Membership
from essaim.army.models import RoleAssignment, Stage
from essaim.army.tests.factories import TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db
RUN = reverse("army:missions_run")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_volunteer_account_made_coordinator_has_the_missions_entry() -> None:
    lead = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    team = TeamFactory.create(name="Paris 11e", coordinators=[lead.user])
    member = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])

    lead_home = logged_in(lead.user).get(reverse("home")).content.decode()
    member_home = logged_in(member.user).get(reverse("home")).content.decode()

    assert lead.user.role == "volunteer"
    assert f'href="{RUN}"' in lead_home
    assert logged_in(lead.user).get(RUN).status_code == 200
    assert f'href="{RUN}"' not in member_home
    assert logged_in(member.user).get(RUN).status_code == 403


def test_a_coordinatorship_withdrawn_takes_the_entry_away() -> None:
    lead = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    team = TeamFactory.create(coordinators=[lead.user])
    Membership.objects.filter(team=team, user=lead.user).update(is_coordinator=False)

    assert f'href="{RUN}"' not in logged_in(lead.user).get(reverse("home")).content.decode()


@pytest.fixture
def pending(coordinator: Any) -> dict[str, Any]:
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    applicant = VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED}, first_name="Inès")
    membership = Membership.objects.create(
        team=team, user=applicant.user, state=Membership.State.REQUESTED, message="Dispo le soir"
    )
    return {"team": team, "applicant": applicant, "membership": membership}


@pytest.mark.parametrize("who", ["hq_client", "coordinator_client"])
def test_the_applicant_link_of_the_requests_table_shows_their_roles(
    who: str, pending: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    client: Client = request.getfixturevalue(who)
    team, applicant = pending["team"], pending["applicant"]
    url = reverse("army:member_detail", args=[team.pk, applicant.pk])

    dashboard = client.get(reverse("army:team_dashboard", args=[team.pk])).content.decode()
    response = client.get(url)

    assert f'<a href="{url}">Inès</a>' in dashboard
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Inès</h1>" in page
    assert "Demande d'adhésion en attente. « Dispo le soir »" in page
    decide = reverse("army:team_decide", args=[team.pk, pending["membership"].pk])
    assert f'<form method="post" action="{decide}" class="cluster">' in page
    assert '<span class="stage stage-applied">Candidat</span></h3>' in page
    assert 'name="stage"' not in page  # an applicant's roles are not moved before they join


def test_an_applicants_role_cannot_be_moved_and_nothing_changes(
    pending: dict[str, Any], hq_client: Client
) -> None:
    team, applicant = pending["team"], pending["applicant"]
    assignment = RoleAssignment.objects.get(volunteer=applicant)
    url = reverse("army:role_move", args=[team.pk, applicant.pk, assignment.pk])

    assert hq_client.post(url, {"stage": Stage.TRAINED}).status_code == 404
    assignment.refresh_from_db()
    assert assignment.stage == Stage.APPLIED


def test_someone_with_no_request_in_the_team_is_still_a_404(
    pending: dict[str, Any], hq_client: Client
) -> None:
    stranger = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    declined = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    Membership.objects.create(
        team=pending["team"], user=declined.user, state=Membership.State.DECLINED
    )
    for volunteer in (stranger, declined):
        url = reverse("army:member_detail", args=[pending["team"].pk, volunteer.pk])
        assert hq_client.get(url).status_code == 404
