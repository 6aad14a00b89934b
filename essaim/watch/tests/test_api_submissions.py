"""The tracers' submissions over JSON: a tracer's token submits and reads its own; reviewers'
tokens read the queue and decide; the tracer is named to HQ and their coordinator only; refused
tokens change nothing; bad inputs are 422 with their code, a flood 429."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from essaim.accounts.models import AuditEvent, User
from essaim.api.models import Scope
from essaim.api.testing import Api, api_for
from essaim.army.models import Proof, Stage, Volunteer
from essaim.army.services.missions import claim_mission
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import image_upload, make_mission
from essaim.watch.models import Item, Submission
from essaim.watch.services.submissions import submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

SUBMIT = "/api/v1/watch/submissions"
REVIEWS = "/api/v1/watch/reviews"


@pytest.fixture
def alice(coordinator: User) -> Volunteer:
    paris = make_team("Paris 11e", departement="75", coordinators=[coordinator])
    return make_volunteer(
        "alice@exemple.fr", roles={"traceur": Stage.ACTIVE}, teams=[paris], first_name="Alice"
    )


def rows() -> list[tuple[Any, ...]]:
    submissions = Submission.objects.order_by("id").values_list("state", "reason", "note")
    return [*submissions, (Item.objects.count(), AuditEvent.objects.count())]


def test_a_tracer_submits_and_is_answered_at_once(alice: Volunteer) -> None:
    api = api_for(alice.user)
    created = api.post(
        SUBMIT,
        {
            "url": "https://tv.exemple.fr/emission/12?utm_source=x",
            "time_code": "12:34",
            "urgency": "urgent",
            "screenshot_base64": base64.b64encode(image_upload().read()).decode(),
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["url"], body["time_code"], body["state"], body["echo"], body["known"]) == (
        "https://tv.exemple.fr/emission/12",
        754,
        "new",
        1,
        False,
    )
    assert body["answer"] == "Nouveau : la veille n'avait pas encore ce lien. Merci !"
    assert str(Submission.objects.get().screenshot.name).startswith("submissions/")
    again = api.post(SUBMIT, {"url": "http://www.tv.exemple.fr/emission/12/"})
    assert (again.status_code, again.json()["id"], again.json()["created"]) == (
        200,
        body["id"],
        False,
    )
    mine = api.get(SUBMIT).json()
    assert ([s["id"] for s in mine["items"]], mine["next"]) == ([body["id"]], None)


def test_a_second_tracer_learns_the_echo_but_not_who(alice: Volunteer) -> None:
    submit(volunteer=alice, url="https://tv.exemple.fr/emission/12")
    bruno = make_volunteer("bruno@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    body = api_for(bruno.user).post(SUBMIT, {"url": "https://tv.exemple.fr/emission/12"}).json()
    assert (body["known"], body["echo"], body["state"]) == (True, 2, "merged")
    assert "tracer" not in body
    # Their list is theirs only.
    assert [s["id"] for s in api_for(bruno.user).get(SUBMIT).json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": "file:///etc/passwd"}, "bad_url"),
        ({"url": "https://exemple.fr/", "time_code": "99:99"}, "bad_time_code"),
        ({"url": "https://exemple.fr/", "urgency": "panique"}, "validation_error"),
        ({"url": "https://exemple.fr/", "screenshot_base64": "bm9uIGltYWdl"}, "bad_screenshot"),
    ],
)
def test_bad_input_is_422_with_its_code_and_stores_nothing(
    alice: Volunteer, payload: dict[str, str], code: str
) -> None:
    response = api_for(alice.user).post(SUBMIT, payload)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert Submission.objects.count() == 0


def test_a_flood_is_429_with_retry_after(alice: Volunteer, settings: Any) -> None:
    settings.WATCH_SUBMISSION_RATE_LIMIT = "1/h"
    api = api_for(alice.user)
    assert api.post(SUBMIT, {"url": "https://exemple.fr/1"}).status_code == 201
    flood = api.post(SUBMIT, {"url": "https://exemple.fr/2"})
    assert (flood.status_code, flood.json()["error"]["code"]) == (429, "flood")
    assert int(flood["Retry-After"]) > 0
    assert Submission.objects.count() == 1


def test_hq_and_the_coordinator_see_the_tracer_a_veilleur_does_not(
    alice: Volunteer, coordinator_api: Api, hq_api: Api
) -> None:
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    vera = api_for(make_volunteer("vera@exemple.fr", roles={"veilleur": Stage.ACTIVE}).user)
    seen = {
        name: [(s["id"], s["tracer"]) for s in api.get(REVIEWS).json()["items"]]
        for name, api in (("hq", hq_api), ("coordinator", coordinator_api), ("veilleur", vera))
    }
    assert seen == {
        "hq": [(row.pk, alice.pk)],
        "coordinator": [(row.pk, alice.pk)],
        "veilleur": [(row.pk, None)],
    }


def test_a_reviewer_decides_and_a_second_decision_is_a_conflict(
    alice: Volunteer, coordinator_api: Api
) -> None:
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    url = f"{SUBMIT}/{row.pk}/review"
    missing = coordinator_api.post(url, {"decision": "reject"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "reason_required")
    done = coordinator_api.post(url, {"decision": "reject", "reason": "Doublon"})
    assert (done.status_code, done.json()["state"], done.json()["reason"]) == (
        200,
        "rejected",
        "Doublon",
    )
    again = coordinator_api.post(url, {"decision": "accept"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_open")
    assert Submission.objects.get().state == "rejected"
    # A tracer does not review.
    assert api_for(alice.user).get(REVIEWS).status_code == 403


def test_refused_tokens_change_nothing(
    alice: Volunteer, other_coordinator: User, hq_admin: User, volunteer_api: Api
) -> None:
    make_team("Lyon 3e", departement="69", coordinators=[other_coordinator])
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    url = f"{SUBMIT}/{row.pk}/review"
    read_only = api_for(hq_admin, scopes=[Scope.READ])
    lyon, tracer, admin = api_for(other_coordinator), api_for(alice.user), api_for(hq_admin)
    before = rows()
    outcomes = [
        lyon.post(url, {"decision": "accept"}).status_code,
        tracer.post(url, {"decision": "accept"}).status_code,
        volunteer_api.post(url, {"decision": "accept"}).status_code,
        read_only.post(url, {"decision": "accept"}).status_code,
        volunteer_api.post(SUBMIT, {"url": "https://exemple.fr/"}).status_code,
        admin.post(SUBMIT, {"url": "https://exemple.fr/"}).status_code,
        Api().post(SUBMIT, {"url": "https://exemple.fr/"}).status_code,
    ]
    assert outcomes == [404, 403, 403, 403, 403, 403, 401]
    assert rows() == before


def test_a_trace_mission_is_proved_over_the_api_by_a_submission(
    alice: Volunteer, coordinator: User
) -> None:
    mine = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    team = alice.user.memberships.get().team
    mission = make_mission(by=coordinator, team=team, kind="trace", role_slug="traceur")
    claim = claim_mission(volunteer=alice, mission_id=mission.pk)
    api = api_for(alice.user)
    refused = api.post(f"/api/v1/claims/{claim.pk}/proof", {"pick": "999999"})
    assert (refused.status_code, Proof.objects.count()) == (409, 0)
    done = api.post(f"/api/v1/claims/{claim.pk}/proof", {"pick": str(mine.pk)})
    assert (done.status_code, done.json()["status"]) == (200, "submitted")
    mine.refresh_from_db()
    assert mine.proof is not None
    assert [link.url for link in mine.proof.links.all()] == ["https://tv.exemple.fr/emission/12"]
