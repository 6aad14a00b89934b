"""The campaigns API: HQ tokens only, the same error shape, refusals are 409 and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api, api_for
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

BODY = {"subject": "Votez", "body_markdown": "Bonjour {{ first_name }}", "segment": "all"}


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def hq_api(hq: Any) -> Api:
    return api_for(hq)


@pytest.fixture
def admin_api(hq_admin: Any) -> Api:
    return api_for(hq_admin)


def test_hq_creates_launches_and_reads_the_status_of_a_campaign(hq_api: Api) -> None:
    make_contact("a@exemple.fr")

    created = hq_api.post("/api/v1/campaigns", BODY)
    pk = created.json()["id"]
    launched = hq_api.post(f"/api/v1/campaigns/{pk}/launch")
    status = hq_api.get(f"/api/v1/campaigns/{pk}/status")

    assert created.status_code == 201
    assert (created.json()["status"], created.json()["audience_all"]) == ("draft", True)
    assert (launched.status_code, launched.json()["launched"]) == (200, 1)
    assert status.json()["counts"]["pending"] == 1
    assert status.json()["results"] == {
        "accepted": 0, "rejected": 0, "bounced": 0, "complained": 0, "unsubscribed": 0,
        "unknown": 0, "soft_bounces": 0, "unparsed_reports": 0,
    }  # fmt: skip
    assert AuditEvent.objects.get(action="campaign.launch").actor_email == "staff@qg.test"


def test_campaign_to_a_segment_with_exclusions(hq_api: Api) -> None:
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    lyon = Segment.objects.create(name="Lyon", definition={"departements": ["69"]})

    response = hq_api.post(
        "/api/v1/campaigns", BODY | {"segment": paris.pk, "exclude_segments": [lyon.pk]}
    )

    assert response.status_code == 201
    assert (response.json()["segment"], response.json()["exclude_segments"]) == (
        paris.pk,
        [lyon.pk],
    )


@pytest.mark.parametrize("who", ["coordinator", "volunteer"])
def test_coordinator_and_volunteer_tokens_are_refused(
    who: str, request: pytest.FixtureRequest
) -> None:
    api = api_for(request.getfixturevalue(who))

    response = api.post("/api/v1/campaigns", BODY)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert api.get("/api/v1/campaigns").status_code == 403
    assert Campaign.objects.count() == 0


def test_launch_above_threshold_is_409_until_a_second_hq_user_approves(
    hq_api: Api, admin_api: Api, settings: Any
) -> None:
    settings.MAILING_APPROVAL_THRESHOLD = 1
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    pk = hq_api.post("/api/v1/campaigns", BODY).json()["id"]

    refused = hq_api.post(f"/api/v1/campaigns/{pk}/launch")
    self_approval = hq_api.post(f"/api/v1/campaigns/{pk}/approve")

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "approval_required")
    assert (self_approval.status_code, self_approval.json()["error"]["code"]) == (
        409,
        "approval_refused",
    )
    assert Delivery.objects.count() == 0
    assert admin_api.post(f"/api/v1/campaigns/{pk}/approve").json()["approved_by"] == (
        "admin@qg.test"
    )
    assert hq_api.post(f"/api/v1/campaigns/{pk}/launch").json()["launched"] == 2


def test_pause_resume_cancel_and_wrong_state_is_409(hq_api: Api) -> None:
    make_contact("a@exemple.fr")
    pk = hq_api.post("/api/v1/campaigns", BODY).json()["id"]

    wrong = hq_api.post(f"/api/v1/campaigns/{pk}/pause")
    hq_api.post(f"/api/v1/campaigns/{pk}/launch")

    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "state")
    assert hq_api.post(f"/api/v1/campaigns/{pk}/pause").json()["status"] == "paused"
    assert hq_api.post(f"/api/v1/campaigns/{pk}/resume").json()["status"] == "sending"
    cancelled = hq_api.post(f"/api/v1/campaigns/{pk}/cancel").json()
    assert (cancelled["status"], cancelled["counts"]["cancelled"]) == ("cancelled", 1)


def test_invalid_drafts_are_422_and_unknown_campaigns_404(hq_api: Api) -> None:
    bad = hq_api.post("/api/v1/campaigns", BODY | {"body_markdown": "{{ request.user }}"})
    no_segment = hq_api.post("/api/v1/campaigns", BODY | {"segment": 999})

    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")
    assert no_segment.json()["error"]["details"] == [
        {"field": "segment", "message": "No segment with id 999."}
    ]
    assert hq_api.get("/api/v1/campaigns/999").json()["error"]["code"] == "not_found"
    assert Campaign.objects.count() == 0
