"""Who may invite and who sees abuse reports, for each role; a refused action changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from essaim.army import rules
from essaim.army.models import Invitation, InvitationRequest
from essaim.army.tests.factories import InviterFactory, TeamFactory
from essaim.people.models import Contact

PAGE = reverse("army:invitations")
REPORTS = reverse("army:invitation_reports")


@pytest.fixture
def cast(db: Any, coordinator: Any, other_coordinator: Any, hq: Any) -> dict[str, Any]:
    cache.clear()
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    TeamFactory.create(name="Lyon 3e", departement="69", coordinators=[other_coordinator])
    volunteer = InviterFactory.create(email="camille@exemple.fr", teams=[team])
    return {
        "volunteer": volunteer,
        "coordinator": coordinator,
        "other_coordinator": other_coordinator,
        "hq": hq,
        "anonymous": AnonymousUser(),
    }


def nothing_changed() -> bool:
    return (
        InvitationRequest.objects.count(),
        Invitation.objects.count(),
        Contact.objects.count(),
    ) == (0, 0, 0)


def client_for(user: Any) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "invite", "see_reports_of_volunteer", "list_reports"),
    [
        ("volunteer", True, False, False),
        ("coordinator", False, True, False),
        ("other_coordinator", False, False, False),
        ("hq", False, True, True),
        ("anonymous", False, False, False),
    ],
)
def test_predicates_per_role(cast, who, invite, see_reports_of_volunteer, list_reports):
    user = cast[who] if who != "volunteer" else cast["volunteer"].user
    assert rules.can_invite(user) is invite
    assert rules.can_see_invitation_reports_of(user, cast["volunteer"]) is see_reports_of_volunteer
    assert rules.can_list_invitation_reports(user) is list_reports


def test_an_inactive_volunteer_may_not_invite(cast):
    user = cast["volunteer"].user
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert rules.can_invite(user) is False


@pytest.mark.parametrize("who", ["coordinator", "other_coordinator", "hq"])
def test_staff_without_a_volunteer_profile_cannot_invite_and_nothing_changes(
    cast, who, smtp_recorder
):
    client = client_for(cast[who])
    assert client.get(PAGE).status_code == 403
    response = client.post(PAGE, {"action": "send", "addresses": "ana@exemple.fr"})
    assert response.status_code == 403
    assert nothing_changed() and smtp_recorder.messages == []


def test_anonymous_is_sent_to_log_in_and_nothing_changes(cast, smtp_recorder):
    response = Client().post(PAGE, {"action": "send", "addresses": "ana@exemple.fr"})
    assert response.status_code == 302 and "/comptes/connexion/" in response["Location"]
    assert Client().get(REPORTS).status_code == 302
    assert nothing_changed() and smtp_recorder.messages == []


def test_the_member_page_shows_reports_to_this_teams_coordinator_only(cast):
    volunteer = cast["volunteer"]
    Invitation.objects.create(inviter=volunteer, email_hash="h" * 64, status="reported")
    team = volunteer.user.memberships.get().team
    url = reverse("army:member_detail", args=[team.pk, volunteer.pk])
    assert "signalée comme abusive" in client_for(cast["coordinator"]).get(url).text
    assert "signalée comme abusive" in client_for(cast["hq"]).get(url).text
    assert client_for(cast["other_coordinator"]).get(url).status_code in (403, 404)
