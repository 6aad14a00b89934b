"""Tags and segments over the API: HQ only."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api
from essaim.people.models import ContactTag, Segment, Tag
from essaim.people.services.segments import save_segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

TAGS = "/api/v1/tags"
SEGMENTS = "/api/v1/segments"


@pytest.fixture
def tagged(db: Any) -> None:
    make_contact("a@exemple.fr", postcode="75011", tags=("jeunes", "quartier"))
    make_contact("b@exemple.fr", postcode="69003", tags=("jeunes",))
    Tag.objects.create(name="vide")


# --- Tags -------------------------------------------------------------------------------------


def test_hq_lists_tags_with_their_counts(hq_api, tagged):
    response = hq_api.get(TAGS)
    assert response.status_code == 200
    assert [(t["name"], t["contacts"]) for t in response.json()] == [
        ("jeunes", 2),
        ("quartier", 1),
        ("vide", 0),
    ]
    assert [t["id"] for t in response.json()] == list(
        Tag.objects.order_by("name").values_list("pk", flat=True)
    )


def test_hq_creates_a_tag(hq_api):
    response = hq_api.post(TAGS, {"name": "  porte  à   porte "})
    assert response.status_code == 201
    tag = Tag.objects.get()
    assert response.json() == {"id": tag.pk, "name": "porte à porte", "contacts": 0}


def test_a_tag_name_with_html_is_stored_as_text(hq_api):
    assert hq_api.post(TAGS, {"name": "<b>gras</b>"}).json()["name"] == "<b>gras</b>"
    assert Tag.objects.get().name == "<b>gras</b>"


def test_creating_an_existing_tag_is_409(hq_api, tagged):
    response = hq_api.post(TAGS, {"name": "jeunes"})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "exists",
        "message": "The tag 'jeunes' already exists.",
        "details": None,
    }
    assert Tag.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "   "}, "name"), ({"name": "x" * 65}, "name"), ({}, "name"), ({"name": 5}, "name")],
)
def test_a_bad_tag_name_is_422(hq_api, body, field):
    response = hq_api.post(TAGS, body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert not Tag.objects.exists()


def test_hq_deletes_a_tag_from_every_contact_and_it_is_audited(hq, hq_api, tagged):
    response = hq_api.delete(f"{TAGS}/jeunes")
    assert response.status_code == 204
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["quartier", "vide"]
    assert ContactTag.objects.count() == 1
    event = AuditEvent.objects.get(action="tag.delete")
    assert (event.actor, event.details["name"], event.details["contacts"]) == (hq, "jeunes", 2)


def test_a_tag_with_a_slash_or_accents_can_be_deleted(hq_api):
    Tag.objects.create(name="été/2026")
    assert hq_api.delete(f"{TAGS}/%C3%A9t%C3%A9/2026").status_code == 204
    assert not Tag.objects.exists()


def test_deleting_an_unknown_tag_is_404(hq_api, tagged):
    assert hq_api.delete(f"{TAGS}/inconnue").status_code == 404
    assert Tag.objects.count() == 3


def test_a_tag_a_segment_uses_cannot_be_deleted(hq, hq_api, tagged):
    jeunes = Tag.objects.get(name="jeunes")
    segment = save_segment(
        name="Jeunes", description="", definition={"tags": {"any": [jeunes.pk]}}, user=hq
    )
    response = hq_api.delete(f"{TAGS}/jeunes")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "in_use",
        "message": "Segments use this tag: Jeunes",
        "details": {"segments": [segment.pk]},
    }
    assert Tag.objects.filter(name="jeunes").exists() and ContactTag.objects.count() == 3


@pytest.mark.parametrize(
    ("api_fixture", "status"),
    [
        ("coordinator_api", 403),
        ("other_coordinator_api", 403),
        ("volunteer_api", 403),
        ("anonymous", 401),
        ("revoked_api", 401),
    ],
)
def test_only_hq_may_read_or_change_tags(request, tagged, api_fixture, status):
    api: Api = request.getfixturevalue(api_fixture)
    before = list(Tag.objects.order_by("pk").values()), list(ContactTag.objects.values())
    responses = [api.get(TAGS), api.post(TAGS, {"name": "nouvelle"}), api.delete(f"{TAGS}/jeunes")]
    assert [r.status_code for r in responses] == [status] * 3
    assert (list(Tag.objects.order_by("pk").values()), list(ContactTag.objects.values())) == before


# --- Segments ---------------------------------------------------------------------------------


@pytest.fixture
def paris_segment(hq: Any, tagged: None) -> Segment:
    return save_segment(
        name="Paris", description="Les Parisiens", definition={"departements": ["75"]}, user=hq
    )


def test_hq_lists_segments_with_their_last_count(hq_api, paris_segment):
    response = hq_api.get(SEGMENTS)
    assert response.status_code == 200
    [item] = response.json()
    assert (item["id"], item["name"], item["description"], item["last_count"]) == (
        paris_segment.pk,
        "Paris",
        "Les Parisiens",
        1,
    )


def test_a_segment_is_counted_afresh_when_read(hq_api, paris_segment):
    make_contact("c@exemple.fr", postcode="75020")
    response = hq_api.get(f"{SEGMENTS}/{paris_segment.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["last_count"], body["definition"]) == (
        2,
        2,
        {"version": 1, "departements": ["75"]},
    )
    paris_segment.refresh_from_db()
    assert paris_segment.last_count == 2


def test_reading_a_segment_that_does_not_exist_is_404(hq_api):
    assert hq_api.get(f"{SEGMENTS}/777").status_code == 404


def test_hq_creates_a_segment_and_gets_its_count(hq, hq_api, tagged):
    jeunes = Tag.objects.get(name="jeunes")
    response = hq_api.post(
        SEGMENTS,
        {"name": "Jeunes", "definition": {"tags": {"any": [jeunes.pk]}, "regions": ["84"]}},
    )
    assert response.status_code == 201
    segment = Segment.objects.get()
    body = response.json()
    assert (body["id"], body["count"], body["last_count"], body["definition"]) == (
        segment.pk,
        1,
        1,
        {"version": 1, "tags": {"any": [jeunes.pk]}, "regions": ["84"]},
    )
    assert segment.created_by == hq


def test_an_invalid_definition_is_422_listing_every_problem(hq_api, tagged):
    response = hq_api.post(
        SEGMENTS,
        {
            "name": "Cassé",
            "definition": {"departements": ["999"], "tags": {"any": [424242]}, "colour": "red"},
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "The segment definition is invalid."
    assert sorted(d["field"] for d in error["details"]) == [
        "definition.colour",
        "definition.departements[0]",
    ]
    assert not Segment.objects.exists()


def test_a_definition_naming_an_unknown_tag_is_422(hq_api, tagged):
    response = hq_api.post(SEGMENTS, {"name": "X", "definition": {"tags": {"any": [424242]}}})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["definition.tags.any[0]"]
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"definition": {}}, "name"),
        ({"name": "", "definition": {}}, "name"),
        ({"name": "X", "definition": []}, "definition"),
        ({"name": "X", "definition": "all"}, "definition"),
    ],
)
def test_a_malformed_segment_body_is_422(hq_api, body, field):
    response = hq_api.post(SEGMENTS, body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


def test_a_segment_name_already_taken_is_409(hq_api, paris_segment):
    response = hq_api.post(SEGMENTS, {"name": "Paris", "definition": {}})
    assert response.status_code == 409
    assert Segment.objects.count() == 1


@pytest.mark.parametrize(
    ("api_fixture", "status"),
    [
        ("coordinator_api", 403),
        ("other_coordinator_api", 403),
        ("volunteer_api", 403),
        ("anonymous", 401),
        ("revoked_api", 401),
    ],
)
def test_only_hq_may_read_or_create_segments(request, paris_segment, api_fixture, status):
    api: Api = request.getfixturevalue(api_fixture)
    before = list(Segment.objects.values())
    responses = [
        api.get(SEGMENTS),
        api.get(f"{SEGMENTS}/{paris_segment.pk}"),
        api.post(SEGMENTS, {"name": "Nouveau", "definition": {}}),
    ]
    assert [r.status_code for r in responses] == [status] * 3
    assert list(Segment.objects.values()) == before
