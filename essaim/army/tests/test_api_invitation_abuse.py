"""Phishing over the API (issue 14, item 5), replayed: an applied volunteer's token sending fifty
invitations with a phishing note is a 403 that records nothing; a link in a trusted mondain's
note is a 422; a suspended inviter gets a 403 saying so; the counts say whether one may invite."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from essaim.api.testing import api_for
from essaim.army.models import Invitation, InvitationRequest, Stage
from essaim.army.tests.factories import make_inviter, make_volunteer
from essaim.people.models import Contact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

URL = "/api/v1/me/invitations"
PHISHING = "Votre compte est suspendu : https://evil.example/verify"
FIFTY = [f"cible{n}@exemple.fr" for n in range(50)]


def nothing_recorded() -> bool:
    return (
        InvitationRequest.objects.count(),
        Invitation.objects.count(),
        Contact.objects.count(),
    ) == (0, 0, 0)


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    def post(volunteer: Any, body: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return api_for(volunteer.user, scopes=["read", "write"]).post(URL, body)

    return post


def test_an_applied_volunteer_sending_fifty_phishing_notes_gets_a_403_and_nothing_is_queued(
    send, smtp_recorder
):
    applicant = make_inviter("intrus@exemple.fr", stage=Stage.APPLIED, trusted=False)
    response = send(applicant, {"addresses": FIFTY, "note": PHISHING})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "not_trusted"
    assert error["message"] == (
        "Votre rôle de mondain est à l'étape « Candidat » : seuls les mondains formés ou actifs "
        "invitent. Un coordinateur de votre équipe peut vous former."
    )
    assert nothing_recorded() and smtp_recorder.messages == []


def test_a_volunteer_without_the_mondain_role_gets_a_403_saying_why(send, smtp_recorder):
    chatter = make_volunteer(roles={"tchatcheur": Stage.ACTIVE})
    response = send(chatter, {"addresses": ["ana@exemple.fr"]})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Les invitations sont réservées aux volontaires mondains, formés ou actifs. "
        "Demandez le rôle de mondain dans votre profil : un coordinateur vous formera."
    )
    assert nothing_recorded() and smtp_recorder.messages == []


@pytest.mark.parametrize("note", [PHISHING, "evil . example/verify", "hxxp://evil[.]example"])
def test_a_link_in_a_trusted_mondains_note_is_a_422_and_nothing_is_queued(
    send, smtp_recorder, note
):
    response = send(make_inviter(), {"addresses": FIFTY, "note": note})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "Pas de lien ni d'adresse de site dans le mot personnel (ni « exemple.fr », ni « www », "
        "même déguisés) : la campagne joint elle-même son lien. Si vous avez collé deux mots "
        "avec un point, ajoutez une espace après le point."
    )
    assert nothing_recorded() and smtp_recorder.messages == []


def test_a_suspended_inviter_gets_a_403_and_their_counts_say_why(send, smtp_recorder):
    inviter = make_inviter()
    inviter.invitations_suspended_at = timezone.now()
    inviter.save(update_fields=["invitations_suspended_at"])
    response = send(inviter, {"addresses": ["ana@exemple.fr"]})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "suspended")
    assert nothing_recorded() and smtp_recorder.messages == []
    counts = api_for(inviter.user).get(URL).json()
    assert (counts["may_invite"], counts["left_today"]) == (False, 0)
    assert counts["refusal"].startswith("Vos invitations sont suspendues")


def test_a_new_accounts_counts_show_the_small_daily_limit(settings):
    settings.INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT = 5
    counts = api_for(make_inviter(trusted=False).user).get(URL).json()
    assert (counts["may_invite"], counts["daily_limit"], counts["left_today"]) == (True, 5, 5)
