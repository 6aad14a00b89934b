"""Invitations over JSON: the token's volunteer invites and reads their own counts; the answer
never depends on the base; limits and refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.api.testing import api_for
from essaim.army.models import Invitation, InvitationRequest
from essaim.army.tests.factories import make_inviter
from essaim.people.models import Contact, Suppression
from essaim.people.services.suppression import suppress

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

URL = "/api/v1/me/invitations"


@pytest.fixture
def camille() -> Any:
    return make_inviter("camille@exemple.fr", first_name="Camille")


@pytest.fixture
def post(camille: Any, django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    api = api_for(camille.user, scopes=["read", "write"])

    def send(body: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(URL, body)

    return send


def test_a_volunteer_invites_and_reads_their_counts(camille, post, smtp_recorder):
    suppress(email_key="gone@exemple.fr", reason=Suppression.Reason.ABUSE_REPORT)
    response = post(
        {"addresses": ["ana@exemple.fr", "Ana@Exemple.fr", "gone@exemple.fr", "pas-une-adresse"]}
    )
    assert response.status_code == 202
    assert response.json() == {"sent": 2, "invalid": ["pas-une-adresse"], "invalid_count": 1}
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["ana@exemple.fr"]]
    stats = api_for(camille.user).get(URL)
    assert stats.status_code == 200
    assert stats.json() == {
        "sent": 2,
        "confirmed": 0,
        "points": 0,
        "left_today": 48,
        "daily_limit": 50,
        "may_invite": True,
        "refusal": "",
    }


def test_the_daily_limit_is_a_409_and_nothing_is_recorded(camille, post, settings):
    settings.INVITATIONS_DAILY_LIMIT = 1
    response = post({"addresses": ["a@exemple.fr", "b@exemple.fr"]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "daily_limit"
    assert response.json()["error"]["details"] == {"left": 1}
    assert (InvitationRequest.objects.count(), Contact.objects.count()) == (0, 0)


def test_no_valid_address_is_a_422(post):
    response = post({"addresses": ["<script>@x"]})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["invalid"] == ["<script>@x"]
    assert InvitationRequest.objects.count() == 0


def test_bad_bodies_are_422(post):
    assert post({"addresses": []}).status_code == 422
    assert post({"addresses": ["a@b.fr"], "note": "x" * 301}).status_code == 422
    assert post({"addresses": ["a" * 400 + "@b.fr"]}).status_code == 422
    assert InvitationRequest.objects.count() == 0


def test_a_flood_is_rate_limited(post, settings):
    settings.INVITATIONS_RATE_LIMIT = "1/h"
    assert post({"addresses": ["a@exemple.fr"]}).status_code == 202
    response = post({"addresses": ["b@exemple.fr"]})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert InvitationRequest.objects.count() == 1


def test_a_read_only_token_cannot_invite(camille, smtp_recorder):
    response = api_for(camille.user, scopes=["read"]).post(URL, {"addresses": ["a@exemple.fr"]})
    assert response.status_code == 403
    assert InvitationRequest.objects.count() == 0


@pytest.mark.parametrize("who", ["hq", "coordinator"])
def test_staff_without_a_volunteer_profile_cannot_invite_nor_read(who, request, smtp_recorder):
    user = request.getfixturevalue(who)
    api = api_for(user, scopes=["read", "write"])
    assert api.post(URL, {"addresses": ["a@exemple.fr"]}).status_code == 403
    assert api.get(URL).status_code == 403
    assert (InvitationRequest.objects.count(), Invitation.objects.count()) == (0, 0)


def test_anonymous_gets_401_and_nothing_changes(anonymous, smtp_recorder):
    assert anonymous.post(URL, {"addresses": ["a@exemple.fr"]}).status_code == 401
    assert anonymous.get(URL).status_code == 401
    assert (InvitationRequest.objects.count(), Contact.objects.count()) == (0, 0)
