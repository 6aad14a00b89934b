"""The talking points library: entries with tags, versions kept, retirement shown to the
volunteer as outdated, usage counted, tag filter and keyset pages, through the services, the
pages and the API; who may do what for each role, each refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from essaim.api.testing import api_for
from essaim.army.models import Claim, Stage, TalkingPoint, TalkingPointTag, TalkingPointVersion
from essaim.army.rules import missions as rules
from essaim.army.services.missions import MissionError, accept_claim, claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.services.talking_points import (
    add_talking_point,
    library,
    retire_talking_point,
    revise_talking_point,
)
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(TalkingPoint.objects.values_list("pk", "title", "retired_at", "team_id")),
        sorted(TalkingPointVersion.objects.values_list("pk", "point_id", "number", "body")),
        sorted(TalkingPointTag.objects.values_list("point_id", "tag")),
    )


@pytest.fixture
def world(coordinator: Any, other_coordinator: Any, hq: Any) -> dict[str, Any]:
    team = TeamFactory.create(coordinators=[coordinator])
    other = TeamFactory.create(coordinators=[other_coordinator])
    national = add_talking_point(title="Retraites", body="Les faits", tags=["social"], by=hq)
    own = add_talking_point(title="Le marché", body="Ici", tags=["local"], team=team, by=None)
    foreign = add_talking_point(title="Ailleurs", body="Là-bas", team=other, by=None)
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    return {
        "team": team,
        "other": other,
        "national": national,
        "own": own,
        "foreign": foreign,
        "users": {
            "volunteer": volunteer.user,
            "coordinator": coordinator,
            "other_coordinator": other_coordinator,
            "hq": hq,
            "anonymous": AnonymousUser(),
        },
    }


def client_as(user: Any) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


# --- Services -----------------------------------------------------------------------------------


def test_a_new_version_keeps_the_old_one_for_the_missions_that_point_at_it():
    point = add_talking_point(title="Emploi", body="Chiffres de 2026", tags=["Éco"], by=None)
    first = point.versions.get()
    mission = MissionFactory.create(talking_point=first)
    second = revise_talking_point(point=point, body="Chiffres de 2027", by=None, tags=["éco", "x"])
    mission.refresh_from_db()
    assert (mission.talking_point_id, second.number) == (first.pk, 2)
    assert list(point.versions.values_list("number", "body")) == [
        (2, "Chiffres de 2027"),
        (1, "Chiffres de 2026"),
    ]
    assert sorted(TalkingPointTag.objects.filter(point=point).values_list("tag", flat=True)) == [
        "x",
        "éco",
    ]


def test_usage_counts_published_missions_and_accepted_proofs(hq):
    point = add_talking_point(title="Santé", body="Les urgences", by=None)
    version = point.versions.get()
    MissionFactory.create(talking_point=version, publish=False, title="Brouillon")
    mission = MissionFactory.create(talking_point=version, quota=3)
    volunteers = [VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}) for _ in range(2)]
    claims = [claim_mission(volunteer=v, mission_id=mission.pk) for v in volunteers]
    for i, claim in enumerate(claims):
        submit_proof(claim=claim, urls=[f"https://forum.exemple.fr/t/{i}"])
    accept_claim(claim=claims[0], by=hq)
    row: Any = library(teams=None).get(pk=point.pk)
    assert (row.missions_count, row.accepted_count, row.latest_number) == (1, 1, 1)


def test_a_retired_point_takes_no_new_version_and_no_new_mission():
    point = add_talking_point(title="Vieux chiffres", body="2019", by=None)
    version = point.versions.get()
    assert retire_talking_point(point=point) is True
    assert retire_talking_point(point=point) is False
    with pytest.raises(MissionError, match="retiré"):
        revise_talking_point(point=point, body="2026", by=None)
    with pytest.raises(MissionError, match="retiré"):
        MissionFactory.create(talking_point=version)
    assert point.versions.count() == 1


def test_a_team_mission_may_not_use_another_teams_point(world):
    version = world["foreign"].versions.get()
    with pytest.raises(MissionError, match="autre équipe"):
        MissionFactory.create(team=world["team"], talking_point=version)
    MissionFactory.create(team=world["other"], talking_point=version)  # its own team: allowed


@pytest.mark.parametrize(
    ("title", "body", "tags"),
    [
        ("", "x", []),
        ("x" * 201, "x", []),
        ("T", "  ", []),
        ("T", "x", [f"t{i}" for i in range(21)]),
        ("T", "x", ["x" * 51]),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(title, body, tags):
    with pytest.raises(MissionError):
        add_talking_point(title=title, body=body, tags=tags, by=None)
    assert snapshot() == ([], [], [])


# --- Pages --------------------------------------------------------------------------------------


def test_the_library_filters_by_tag_and_pages_by_keyset_with_a_fixed_query_count(
    hq, django_assert_num_queries, monkeypatch
):
    for i in range(7):
        add_talking_point(
            title=f"Point {i}", body="b", tags=["pair" if i % 2 == 0 else "impair"], by=None
        )
    client = client_as(hq)
    url = reverse("army:library")
    # session, user, the page; and the menu's counts
    with django_assert_num_queries(4):
        first = client.get(url, {"tag": "PAIR"})
    assert [p.title for p in first.context["page"].items] == [
        "Point 6",
        "Point 4",
        "Point 2",
        "Point 0",
    ]
    monkeypatch.setattr("essaim.army.views.library.PAGE_SIZE", 2)
    page1 = client.get(url, {"tag": "pair"}).context["page"]
    with django_assert_num_queries(4):
        page2 = client.get(url, {"tag": "pair", "after": page1.next_cursor}).context["page"]
    assert [p.title for p in page1.items + page2.items] == [
        "Point 6",
        "Point 4",
        "Point 2",
        "Point 0",
    ]
    assert page2.next_cursor is None


def test_hq_creates_revises_and_retires_an_entry_through_the_pages(hq):
    client = client_as(hq)
    response = client.post(
        reverse("army:talking_point_create"),
        {"team": "", "title": "Climat", "tags": "écologie, Climat", "body": "Les chiffres"},
    )
    point = TalkingPoint.objects.get(title="Climat")
    assert response["Location"] == reverse("army:talking_point", args=[point.pk])
    assert (point.team_id, point.tags) == (None, ["climat", "écologie"])
    client.post(
        reverse("army:talking_point", args=[point.pk]), {"body": "Chiffres 2027", "tags": "climat"}
    )
    assert list(point.versions.values_list("number", flat=True)) == [2, 1]
    client.post(reverse("army:talking_point_retire", args=[point.pk]))
    point.refresh_from_db()
    assert point.retired_at is not None
    page = client.get(reverse("army:talking_point", args=[point.pk]))
    assert b'data-testid="retired"' in page.content


def test_a_volunteer_sees_a_mission_on_a_retired_point_as_outdated():
    point = add_talking_point(title="Retraites", body="<b>Les faits</b>", by=None)
    mission = MissionFactory.create(talking_point=point.versions.get())
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    claim_mission(volunteer=volunteer, mission_id=mission.pk)
    client = client_as(volunteer.user)
    detail = reverse("army:mission_detail", args=[mission.pk])
    assert b'data-testid="outdated"' not in client.get(detail).content
    retire_talking_point(point=point)
    page = client.get(detail)
    assert b'data-testid="outdated"' in page.content
    assert b"&lt;b&gt;Les faits&lt;/b&gt;" in page.content
    assert "argument périmé" in client.get(reverse("army:my_missions")).content.decode()


# --- Who may do what ----------------------------------------------------------------------------

EXPECTED = {
    # who: (sees the library, writes national, writes own team's, edits national, edits own,
    #       edits another team's)
    "volunteer": (False, False, False, False, False, False),
    "coordinator": (True, False, True, False, True, False),
    "other_coordinator": (True, False, False, False, False, True),
    "hq": (True, True, True, True, True, True),
    "anonymous": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_library_predicates_for_each_role(world, who):
    user = world["users"][who]
    assert (
        rules.can_see_library(user),
        rules.can_write_talking_point(user, None),
        rules.can_write_talking_point(user, world["team"].pk),
        rules.can_edit_talking_point(user, world["national"]),
        rules.can_edit_talking_point(user, world["own"]),
        rules.can_edit_talking_point(user, world["foreign"]),
    ) == EXPECTED[who]


def test_a_coordinator_sees_national_entries_and_their_teams_only(world):
    titles = {p.title for p in library(teams=rules.library_scope(world["users"]["coordinator"]))}
    assert titles == {"Retraites", "Le marché"}


@pytest.mark.parametrize("who", ["volunteer", "coordinator", "other_coordinator", "anonymous"])
def test_refused_library_actions_through_the_pages_change_nothing(world, who):
    client = client_as(world["users"][who])
    before = snapshot()
    national, own = world["national"], world["own"]
    codes = [
        client.post(
            reverse("army:talking_point_create"),
            {"team": "", "title": "Forgé", "body": "x", "tags": ""},
        ).status_code,
        client.post(
            reverse("army:talking_point", args=[national.pk]), {"body": "forgé"}
        ).status_code,
        client.post(reverse("army:talking_point_retire", args=[national.pk])).status_code,
    ]
    if who in ("volunteer", "other_coordinator", "anonymous"):
        codes += [
            client.post(
                reverse("army:talking_point", args=[own.pk]), {"body": "forgé"}
            ).status_code,
            client.post(reverse("army:talking_point_retire", args=[own.pk])).status_code,
        ]
    # A national entry is HQ's: a coordinator, not offered that scope, gets the form again (a
    # team is required); an entry they may not reach or not edit is a 404; a volunteer has no
    # library (403); a visitor goes to the login page.
    expected = {
        "volunteer": [403] * 5,
        "coordinator": [200, 404, 404],
        "other_coordinator": [200, 404, 404, 404, 404],
        "anonymous": [302] * 5,
    }
    assert codes == expected[who]
    assert snapshot() == before


def test_a_forged_team_id_in_the_form_is_refused(world):
    client = client_as(world["users"]["coordinator"])
    before = snapshot()
    response = client.post(
        reverse("army:talking_point_create"), {"team": "", "title": "National", "body": "x"}
    )
    assert response.status_code == 200
    # HQ's scope: a team must be chosen.
    assert response.context["form"].errors == {"team": ["Ce champ est obligatoire."]}
    response = client.post(
        reverse("army:talking_point_create"),
        {"team": str(world["other"].pk), "title": "Forgé", "body": "x"},
    )
    assert response.status_code == 200  # not one of the choices: the form again
    response = client.post(
        reverse("army:talking_point_create"),
        {"team": str(world["other"].pk + 100), "title": "Forgé", "body": "x"},
    )
    assert response.status_code == 200
    assert snapshot() == before


# --- API ----------------------------------------------------------------------------------------


def test_the_api_creates_lists_versions_and_retires(world):
    api = api_for(world["users"]["coordinator"])
    created = api.post(
        "/api/v1/talking-points",
        {"title": "Transports", "body": "Le tram", "tags": ["Mobilité"], "team": world["team"].pk},
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["tags"] == ["mobilité"]
    assert (
        api.post(f"/api/v1/talking-points/{pk}/versions", {"body": "Le tram, v2"}).json()[
            "latest_version"
        ]
        == 2
    )
    listed = api.get("/api/v1/talking-points", tag="mobilité").json()
    assert [p["id"] for p in listed["items"]] == [pk]
    page1 = api.get("/api/v1/talking-points", limit=2).json()
    page2 = api.get("/api/v1/talking-points", limit=2, after=page1["next_cursor"]).json()
    assert len(page1["items"]) == 2 and page2["next_cursor"] is None
    assert {p["id"] for p in page1["items"] + page2["items"]} == {
        pk,
        world["own"].pk,
        world["national"].pk,
    }
    retired = api.post(f"/api/v1/talking-points/{pk}/retire")
    assert retired.status_code == 200 and retired.json()["retired_at"]
    assert api.post(f"/api/v1/talking-points/{pk}/retire").status_code == 409


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_refused_library_actions_through_the_api_change_nothing(world, who):
    api = api_for(world["users"][who])
    before = snapshot()
    own = world["own"].pk
    codes = [
        api.post("/api/v1/talking-points", {"title": "F", "body": "x"}).status_code,
        api.post(
            "/api/v1/talking-points", {"title": "F", "body": "x", "team": world["team"].pk}
        ).status_code,
        api.post(f"/api/v1/talking-points/{own}/versions", {"body": "forgé"}).status_code,
        api.post(f"/api/v1/talking-points/{own}/retire").status_code,
        api.post(f"/api/v1/talking-points/{world['national'].pk}/retire").status_code,
        api.get(f"/api/v1/talking-points/{own}").status_code,
        api.post("/api/v1/talking-points/999999/retire").status_code,
    ]
    expected = {
        "volunteer": [403] * 7,
        "other_coordinator": [403, 403, 404, 404, 404, 404, 404],
    }
    assert codes == expected[who]
    assert snapshot() == before


def test_claims_keep_their_status_when_the_point_is_revised(world):
    version = world["national"].versions.get()
    mission = MissionFactory.create(talking_point=version)
    claim = claim_mission(
        volunteer=VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}), mission_id=mission.pk
    )
    revise_talking_point(point=world["national"], body="Nouveaux faits", by=None)
    claim.refresh_from_db()
    mission.refresh_from_db()
    assert (claim.status, mission.talking_point_id) == (Claim.Status.CLAIMED, version.pk)
