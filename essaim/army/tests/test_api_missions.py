"""The missions API: a volunteer's offers, claim and proof; a coordinator's team missions and
review; HQ's national missions. Foreign ids are 404 and bad input is refused; nothing changes."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from essaim.api.testing import api_for
from essaim.army.api import missions as missions_api
from essaim.army.models import Claim, Mission, Proof, Stage
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import image_upload, make_mission

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def chatter() -> Any:
    return make_volunteer(roles={"tchatcheur": Stage.ACTIVE})


def mission_body(**over: Any) -> dict[str, Any]:
    return {
        "kind": "relay",
        "title": "Répondre sur le forum",
        "brief": "Avec vos mots.",
        "role": "tchatcheur",
        "quota": 2,
        "deadline": (timezone.now() + timedelta(days=2)).isoformat(),
        "target_sites": ["https://forum.exemple.fr/t/1"],
        **over,
    }


def test_a_volunteer_claims_and_proves_over_the_api(chatter):
    mission = make_mission()
    api = api_for(chatter.user)
    offers = api.get("/api/v1/missions/offered").json()
    assert [(o["id"], o["reminder"][:12]) for o in offers] == [(mission.pk, "Agissez sous")]
    claim = api.post(f"/api/v1/missions/{mission.pk}/claim")
    assert claim.status_code == 201
    png = base64.b64encode(image_upload().read()).decode()
    proved = api.post(
        f"/api/v1/claims/{claim.json()['id']}/proof",
        {"urls": ["https://forum.exemple.fr/t/1"], "note": "ok", "screenshot_base64": png},
    )
    assert (proved.status_code, proved.json()["status"]) == (200, "submitted")
    assert str(Proof.objects.get().screenshot.name).endswith(".png")


def test_offers_come_by_keyset_pages_with_the_next_cursor_in_a_header(chatter, monkeypatch):
    monkeypatch.setattr(missions_api, "OFFERS_PAGE", 2)
    made = [make_mission(deadline=timezone.now() + timedelta(days=d)) for d in (3, 1, 2)]
    api = api_for(chatter.user)
    first = api.get("/api/v1/missions/offered")
    cursor = first["X-Next-Cursor"]
    last = api.get(f"/api/v1/missions/offered?after={cursor}")

    assert [o["id"] for o in first.json()] == [made[1].pk, made[2].pk]
    assert [o["id"] for o in last.json()] == [made[0].pk]
    assert "X-Next-Cursor" not in last
    forged = api.get("/api/v1/missions/offered?after=pas-un-curseur")
    assert forged.status_code == 200 and len(forged.json()) == 2  # the first page again


@pytest.mark.parametrize(
    "body",
    [
        {"urls": ["javascript:alert(1)"]},
        {"urls": ["data:text/html,<script>alert(1)</script>"]},
        {"urls": [], "screenshot_base64": base64.b64encode(b"<svg><script/></svg>").decode()},
    ],
)
def test_a_bad_proof_is_refused_over_the_api_and_changes_nothing(chatter, body):
    mission = make_mission()
    api = api_for(chatter.user)
    claim_id = api.post(f"/api/v1/missions/{mission.pk}/claim").json()["id"]
    response = api.post(f"/api/v1/claims/{claim_id}/proof", body)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "refused")
    assert (Claim.objects.get().status, Proof.objects.count()) == ("claimed", 0)


def test_foreign_or_forged_ids_are_404_over_the_api(chatter):
    foreign = make_mission(role_slug="traceur")
    other = make_volunteer(roles={"tchatcheur": Stage.ACTIVE})
    mission = make_mission()
    api_for(other.user).post(f"/api/v1/missions/{mission.pk}/claim")
    their_claim = Claim.objects.get()
    api = api_for(chatter.user)
    assert api.post(f"/api/v1/missions/{foreign.pk}/claim").status_code == 404
    assert api.post("/api/v1/missions/99999999/claim").status_code == 404
    assert (
        api.post(f"/api/v1/claims/{their_claim.pk}/proof", {"urls": ["https://a.fr/"]}).status_code
        == 404
    )
    assert api.post(f"/api/v1/claims/{their_claim.pk}/release").status_code == 404
    assert api.post(f"/api/v1/missions/{2**63}/claim").status_code == 422
    their_claim.refresh_from_db()
    foreign.refresh_from_db()
    assert (Claim.objects.count(), their_claim.status, foreign.slots_taken) == (1, "claimed", 0)


def test_a_coordinator_runs_a_team_mission_and_reviews_it_over_the_api(coordinator, chatter):
    team = make_team(coordinators=[coordinator])
    team.memberships.create(user=chatter.user, state="member")
    api = api_for(coordinator)
    created = api.post("/api/v1/missions", mission_body(team=team.pk))
    assert created.status_code == 201, created.json()
    published = api.post(f"/api/v1/missions/{created.json()['id']}/publish")
    assert published.json()["notified"] == 1
    volunteer = api_for(chatter.user)
    claim_id = volunteer.post(f"/api/v1/missions/{created.json()['id']}/claim").json()["id"]
    volunteer.post(f"/api/v1/claims/{claim_id}/proof", {"urls": ["https://forum.exemple.fr/t/1"]})
    assert [c["id"] for c in api.get("/api/v1/review-queue").json()] == [claim_id]
    returned = api.post(f"/api/v1/claims/{claim_id}/return", {"feedback": "Le lien est cassé"})
    assert (returned.json()["status"], returned.json()["feedback"]) == (
        "returned",
        "Le lien est cassé",
    )
    volunteer.post(f"/api/v1/claims/{claim_id}/proof", {"urls": ["https://forum.exemple.fr/t/2"]})
    accepted = api.post(f"/api/v1/claims/{claim_id}/accept")
    assert (accepted.json()["status"], accepted.json()["points"]) == ("accepted", 10)


def test_a_coordinator_cannot_create_a_national_mission_or_review_another_team(
    coordinator, other_coordinator, chatter
):
    team = make_team(coordinators=[coordinator])
    make_team(coordinators=[other_coordinator])
    mission = make_mission(team=team)
    team.memberships.create(user=chatter.user, state="member")
    claim_id = api_for(chatter.user).post(f"/api/v1/missions/{mission.pk}/claim").json()["id"]
    api_for(chatter.user).post(f"/api/v1/claims/{claim_id}/proof", {"urls": ["https://a.fr/x"]})
    other = api_for(other_coordinator)
    assert other.post("/api/v1/missions", mission_body()).status_code == 403
    assert other.post("/api/v1/missions", mission_body(team=team.pk)).status_code == 403
    assert other.post(f"/api/v1/claims/{claim_id}/accept").status_code == 404
    assert other.get(f"/api/v1/missions/{mission.pk}").status_code == 404
    assert other.get("/api/v1/review-queue").json() == []
    assert (Mission.objects.count(), Claim.objects.get().status) == (1, "submitted")


def test_volunteers_and_anonymous_callers_cannot_run_missions(chatter, anonymous):
    volunteer = api_for(chatter.user)
    assert volunteer.post("/api/v1/missions", mission_body()).status_code == 403
    assert volunteer.get("/api/v1/review-queue").status_code == 403
    assert anonymous.get("/api/v1/missions/offered").status_code == 401
    assert Mission.objects.count() == 0


def test_hq_creates_a_national_mission_with_bad_kit_urls_refused(hq):
    api = api_for(hq)
    bad = api.post("/api/v1/missions", mission_body(target_sites=["javascript:alert(1)"]))
    assert (bad.status_code, bad.json()["error"]["details"][0]["field"]) == (422, "target_sites")
    ok = api.post("/api/v1/missions", mission_body())
    assert (ok.status_code, ok.json()["team"], Mission.objects.count()) == (201, None, 1)
