"""The calls API: HQ tokens create a call and read its funnel; other tokens are refused and
change nothing; bad input gets the API's error shape."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api, api_for
from essaim.army.models import Call
from essaim.army.services.calls import record_visit
from essaim.army.tests.call_helpers import launch, paris_segment
from essaim.army.tests.factories import make_volunteer, role
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Contact, Segment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def segment() -> Segment:
    role("traceur")
    return paris_segment(("marie@exemple.fr", "Marie"), ("jean@exemple.fr", "Jean"))


def _body(segment_: Segment, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Appel aux bonnes volontés",
        "text_markdown": "Venez **nombreux**",
        "roles": ["traceur", "tchatcheur"],
        "segment": segment_.pk,
        "subject": "On a besoin de vous",
        **changes,
    }


def _state() -> tuple[int, int, int]:
    audits = AuditEvent.objects.filter(action="call.create").count()
    return Call.objects.count(), Campaign.objects.count(), audits


def test_hq_creates_a_call_launches_its_campaign_and_reads_the_funnel(hq, segment):
    api = api_for(hq)
    response = api.post("/api/v1/calls", _body(segment))
    assert response.status_code == 201, response.json()
    body = response.json()
    call = Call.objects.get()
    assert body["id"] == call.pk
    assert (body["roles"], body["campaign"], body["campaign_status"]) == (
        ["tchatcheur", "traceur"],
        call.campaign_id,
        "draft",
    )
    assert body["landing_url"].endswith(f"/appel/{call.pk}/")
    assert "{{ call_url }}" in call.campaign.body_markdown  # the default mail

    launched = api.post(f"/api/v1/campaigns/{call.campaign_id}/launch")
    assert (launched.status_code, launched.json()["launched"]) == (200, 2)
    Delivery.objects.update(status=Delivery.Status.ACCEPTED)
    record_visit(call, Contact.objects.get(email="marie@exemple.fr"))

    funnel = api.get(f"/api/v1/calls/{call.pk}/funnel").json()
    assert (funnel["audience"], funnel["unit"]) == (2, "hour")
    assert funnel["totals"] == {"reached": 2, "visited": 1, "signed_up": 0, "first_mission": 0}
    assert funnel["buckets"][-1]["totals"] == funnel["totals"]
    assert api.get(f"/api/v1/calls/{call.pk}").json()["campaign_status"] == "sending"


def test_an_empty_segment_is_a_conflict_and_writes_nothing(hq, segment):
    lyon = Segment.objects.create(name="Lyon", definition={"departements": ["69"]})
    response = api_for(hq).post("/api/v1/calls", _body(lyon))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "empty_audience"
    assert _state() == (0, 0, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"segment": 999999}, "segment"),
        ({"roles": ["inconnu"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"title": ""}, "title"),
        ({"purpose": "opinion"}, "purpose"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(hq, segment, changes, field):
    response = api_for(hq).post("/api/v1/calls", _body(segment, **changes))
    assert response.status_code == 422
    assert field in str(response.json()["error"]["details"])
    assert _state() == (0, 0, 0)


def test_a_mail_with_an_unknown_field_is_a_422(hq, segment):
    response = api_for(hq).post("/api/v1/calls", _body(segment, body_markdown="{{ password }}"))
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "champ inconnu : password"
    assert _state() == (0, 0, 0)


def test_an_unknown_call_is_a_404(hq):
    assert api_for(hq).get("/api/v1/calls/999999/funnel").status_code == 404
    assert api_for(hq).get("/api/v1/calls/0/funnel").status_code == 422


def test_other_tokens_are_refused_and_change_nothing(coordinator, segment, hq):
    volunteer = make_volunteer("benevole@exemple.fr").user
    api_for(hq).post("/api/v1/calls", _body(segment))
    call = Call.objects.get()
    before = _state()
    for user in (coordinator, volunteer):
        api = api_for(user)
        assert api.post("/api/v1/calls", _body(segment)).status_code == 403
        assert api.get(f"/api/v1/calls/{call.pk}/funnel").status_code == 403
        assert api.get(f"/api/v1/calls/{call.pk}").status_code == 403
    assert Api().get(f"/api/v1/calls/{call.pk}/funnel").status_code == 401
    assert Api().post("/api/v1/calls", _body(segment)).status_code == 401
    assert _state() == before


def test_a_read_only_token_cannot_create(hq, segment):
    response = api_for(hq, scopes=["read"]).post("/api/v1/calls", _body(segment))
    assert response.status_code == 403
    assert _state() == (0, 0, 0)


def test_launching_then_reaching_shows_in_the_funnel(hq, segment):
    api = api_for(hq)
    api.post("/api/v1/calls", _body(segment))
    call = Call.objects.get()
    launch(call)
    assert api.get(f"/api/v1/calls/{call.pk}/funnel").json()["totals"]["reached"] == 0
