"""The army's JSON API: one's own profile and teams; a team's members for its coordinators."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import AuditEvent, Membership
from essaim.api.testing import api_for
from essaim.army.models import Stage, Volunteer, window_mask
from essaim.army.tests.factories import make_team, make_volunteer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

ME = "/api/v1/me"


@pytest.fixture
def louise() -> Volunteer:
    return make_volunteer(
        "louise@exemple.fr",
        first_name="Louise",
        roles={"traceur": Stage.ACTIVE, "tchatcheur": Stage.APPLIED},
        postcode="69003",
        windows=window_mask([(5, 2)]),
        weekly_hours=4,
    )


def writer(volunteer: Volunteer) -> Any:
    return api_for(volunteer.user, scopes=["read", "write"])


def test_a_volunteer_reads_their_own_profile_roles_and_teams(louise):
    team = make_team("Lyon 3e", departement="69")
    Membership.objects.create(team=team, user=louise.user, state=Membership.State.MEMBER)
    response = api_for(louise.user).get(ME)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "email", "first_name", "departement", "weekly_hours")} == {
        "id": louise.pk,
        "email": "louise@exemple.fr",
        "first_name": "Louise",
        "departement": "69",
        "weekly_hours": 4,
    }
    assert body["windows"] == [{"day": 5, "part": 2}]
    assert [(r["role"], r["stage"]) for r in body["roles"]] == [
        ("tchatcheur", "applied"),
        ("traceur", "active"),
    ]
    assert [(t["name"], t["state"], t["is_coordinator"]) for t in body["teams"]] == [
        ("Lyon 3e", "member", False)
    ]


def test_a_user_without_a_volunteer_profile_gets_404(hq):
    response = api_for(hq).get(ME)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_anonymous_gets_401(db):
    from essaim.api.testing import Api

    assert Api().get(ME).status_code == 401


def test_a_volunteer_updates_their_profile_and_only_the_given_fields_change(louise):
    response = writer(louise).request(
        "patch", ME, {"weekly_hours": 6, "windows": [{"day": 0, "part": 0}], "postcode": "13001"}
    )
    assert response.status_code == 200
    louise.refresh_from_db()
    assert (louise.weekly_hours, louise.windows, louise.departement, louise.first_name) == (
        6,
        1,
        "13",
        "Louise",
    )
    assert response.json()["windows"] == [{"day": 0, "part": 0}]


def test_a_read_only_token_cannot_update(louise):
    response = api_for(louise.user, scopes=["read"]).request("patch", ME, {"weekly_hours": 9})
    assert response.status_code == 403
    louise.refresh_from_db()
    assert louise.weekly_hours == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekly_hours": 0}, "weekly_hours"),
        ({"weekly_hours": 10_000}, "weekly_hours"),
        ({"windows": [{"day": 7, "part": 0}]}, "windows"),
        ({"windows": [{"day": 0, "part": 3}]}, "windows"),
        ({"postcode": "99999"}, "postcode"),
        ({"languages": ["xx"]}, "languages"),
        ({"languages": []}, "languages"),
        ({"skills": ["x" * 41]}, "skills"),
        ({"first_name": "  "}, "first_name"),
    ],
)
def test_bad_input_gets_422_naming_the_field_and_changes_nothing(louise, body, field):
    response = writer(louise).request("patch", ME, body)
    assert response.status_code == 422
    assert field in str(response.json()["error"]["details"])
    louise.refresh_from_db()
    assert (louise.weekly_hours, louise.windows, louise.postcode, louise.languages) == (
        4,
        window_mask([(5, 2)]),
        "69003",
        [],
    )


def test_a_volunteer_lists_their_teams_and_asks_to_join_one(louise):
    team = make_team("Lyon 3e", departement="69")
    api = writer(louise)
    response = api.post(f"/api/v1/teams/{team.pk}/join", {"message": "Présente"})
    assert (response.status_code, response.json()["state"]) == (202, "requested")
    assert [t["state"] for t in api.get("/api/v1/teams").json()] == ["requested"]


def test_a_coordinator_reads_members_and_decides_a_request(louise, coordinator):
    team = make_team("Lyon 3e", departement="69", coordinators=[coordinator])
    request = Membership.objects.create(
        team=team, user=louise.user, state=Membership.State.REQUESTED, message="Présente"
    )
    api = api_for(coordinator, scopes=["read", "write"])
    pending = api.get(f"/api/v1/teams/{team.pk}/members", state="requested").json()
    assert [(m["first_name"], m["message"], m["weekly_hours"]) for m in pending["items"]] == [
        ("Louise", "Présente", 4)
    ]
    response = api.post(f"/api/v1/teams/{team.pk}/requests/{request.pk}", {"approve": True})
    assert (response.status_code, response.json()["state"]) == (200, "member")
    again = api.post(f"/api/v1/teams/{team.pk}/requests/{request.pk}", {"approve": False})
    assert again.status_code == 409
    request.refresh_from_db()
    assert request.state == Membership.State.MEMBER


def test_members_are_paged_by_keyset(coordinator):
    team = make_team(coordinators=[coordinator])
    for _ in range(3):
        make_volunteer(teams=[team])
    api = api_for(coordinator)
    first = api.get(f"/api/v1/teams/{team.pk}/members", limit=2).json()
    second = api.get(f"/api/v1/teams/{team.pk}/members", limit=2, after=first["next"]).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 2  # 3 volunteers + coordinator
    assert second["next"] is None
    ids = [m["membership"] for m in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_outsiders_cannot_read_members_or_decide_and_nothing_changes(
    louise, coordinator, other_coordinator, who
):
    team = make_team(coordinators=[coordinator])
    make_team(coordinators=[other_coordinator])
    request = Membership.objects.create(
        team=team, user=louise.user, state=Membership.State.REQUESTED
    )
    outsider = make_volunteer().user if who == "volunteer" else other_coordinator
    api = api_for(outsider, scopes=["read", "write"])
    audits = AuditEvent.objects.count()
    assert api.get(f"/api/v1/teams/{team.pk}/members").status_code == 403
    response = api.post(f"/api/v1/teams/{team.pk}/requests/{request.pk}", {"approve": True})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.state == Membership.State.REQUESTED
    assert AuditEvent.objects.count() == audits


def test_forged_ids_get_404(louise, coordinator):
    team = make_team(coordinators=[coordinator])
    other = make_team()
    foreign = Membership.objects.create(team=other, user=louise.user, state="requested")
    api = api_for(coordinator, scopes=["read", "write"])
    assert api.get("/api/v1/teams/999999/members").status_code == 404
    assert (
        api.post(f"/api/v1/teams/{team.pk}/requests/{foreign.pk}", {"approve": True}).status_code
        == 404
    )
    assert api.get(f"/api/v1/teams/{2**63}").status_code == 422
    foreign.refresh_from_db()
    assert foreign.state == "requested"


def test_a_coordinator_without_a_volunteer_profile_cannot_ask_to_join(coordinator):
    team = make_team()
    response = api_for(coordinator, scopes=["read", "write"]).post(
        f"/api/v1/teams/{team.pk}/join", {}
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(team=team).exists()
