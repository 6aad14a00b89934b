"""Who may create calls for volunteers and read their funnels: HQ only (HQ staff and HQ admins).
A volunteer, a team's coordinator, another team's coordinator and the anonymous visitor are
refused, and each refusal changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from essaim.accounts.models import AuditEvent, User
from essaim.army.models import Call
from essaim.army.rules import can_manage_calls
from essaim.army.tests.call_helpers import paris_segment
from essaim.army.tests.factories import (
    CallFactory,
    TeamFactory,
    VolunteerFactory,
    role,
)
from essaim.mailing.models import Campaign
from essaim.people.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment() -> Segment:
    return paris_segment(("marie@exemple.fr", "Marie"))


@pytest.fixture
def team_coordinator(coordinator: User) -> User:
    TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    return coordinator


@pytest.fixture
def volunteer_user() -> User:
    return VolunteerFactory.create(email="benevole@exemple.fr").user


def _form(segment: Segment) -> dict[str, Any]:
    return {
        "title": "Appel",
        "text_markdown": "Venez",
        "roles": [role("traceur").pk],
        "segment": segment.pk,
        "purpose": "mobilization",
        "from_address": "equipe@essaim.localhost",
        "subject": "Appel",
        "body_markdown": "[Oui]({{ call_url }})",
    }


def _state() -> tuple[int, int, int]:
    return Call.objects.count(), Campaign.objects.count(), AuditEvent.objects.count()


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_hq_staff_and_admins_may_manage_calls(hq, hq_admin):
    assert can_manage_calls(hq) and can_manage_calls(hq_admin)


def test_volunteers_coordinators_and_anonymous_may_not(
    volunteer_user, team_coordinator, other_coordinator
):
    for user in (volunteer_user, team_coordinator, other_coordinator, AnonymousUser()):
        assert not can_manage_calls(user)


def test_hq_creates_a_call_from_the_form_and_reads_its_page(hq, segment):
    client = _client(hq)
    assert client.get("/armee/appels/nouveau/").status_code == 200
    response = client.post("/armee/appels/nouveau/", _form(segment))
    call = Call.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/armee/appels/{call.pk}/")
    assert client.get("/armee/appels/").content.decode().count(f"/armee/appels/{call.pk}/") == 1
    page = client.get(f"/armee/appels/{call.pk}/").content.decode()
    assert f"/appel/{call.pk}/" in page
    assert f"/campagnes/{call.campaign_id}/apercu/" in page


def test_the_form_says_why_an_empty_segment_is_refused(hq, segment):
    lyon = Segment.objects.create(name="Lyon", definition={"departements": ["69"]})
    response = _client(hq).post("/armee/appels/nouveau/", _form(lyon))
    assert response.status_code == 422
    assert "Personne dans ce segment ne peut recevoir ce message" in response.content.decode()
    assert _state() == (0, 0, 0)


@pytest.mark.parametrize("who", ["volunteer_user", "team_coordinator", "other_coordinator"])
def test_others_are_refused_every_call_page_and_change_nothing(who, request, hq, segment):
    call = CallFactory.create(segment=segment, user=hq)
    before = _state()
    client = _client(request.getfixturevalue(who))
    for path in ("/armee/appels/", "/armee/appels/nouveau/", f"/armee/appels/{call.pk}/"):
        assert client.get(path).status_code == 403
    assert client.post("/armee/appels/nouveau/", _form(segment)).status_code == 403
    assert _state() == before


def test_anonymous_visitors_are_sent_to_the_login_and_change_nothing(hq, segment):
    call = CallFactory.create(segment=segment, user=hq)
    before = _state()
    client = Client()
    for path in ("/armee/appels/", f"/armee/appels/{call.pk}/"):
        response = client.get(path)
        assert response.status_code == 302 and "/comptes/connexion/" in response["Location"]
    assert client.post("/armee/appels/nouveau/", _form(segment)).status_code == 302
    assert _state() == before


def test_the_menu_shows_calls_to_hq_only(hq, team_coordinator):
    assert 'href="/armee/appels/"' in _client(hq).get("/").content.decode()
    assert 'href="/armee/appels/"' not in _client(team_coordinator).get("/").content.decode()
