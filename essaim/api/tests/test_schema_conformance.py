"""What schemathesis found the API answering outside its schema, each pinned by its own test:
errors every operation may give but did not list, unknown API paths answered in HTML, and text
with a NUL character, which PostgreSQL refuses (a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from essaim.army.models import Mission
from essaim.people.models import Tag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    paths = Client().get("/api/openapi.json").json()["paths"]
    return [(method, path, op) for path, item in paths.items() for method, op in item.items()]


def test_every_operation_that_reads_a_body_lists_400_413_and_422():
    with_body = [(m, p, op) for m, p, op in operations() if "requestBody" in op]
    assert len(with_body) == 23
    for method, path, op in with_body:
        assert {"400", "413", "422"} <= set(op["responses"]), (method, path)
        assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }


def test_every_operation_with_parameters_lists_422():
    with_parameters = [(m, p, op) for m, p, op in operations() if op.get("parameters")]
    assert ("get", "/api/v1/talking-points") in [(m, p) for m, p, _ in with_parameters]
    for method, path, op in with_parameters:
        assert "422" in op["responses"], (method, path)


def test_an_operation_without_body_or_parameters_lists_no_validation_error():
    (health,) = [op for m, p, op in operations() if (m, p) == ("get", "/api/health")]
    assert set(health["responses"]) == {"200"}


def test_a_body_that_is_not_json_is_the_listed_400(hq_api):
    response = hq_api.post("/api/v1/tags", raw="\x07")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")


def test_a_bad_query_value_is_the_listed_422(hq_api):
    response = hq_api.get("/api/v1/talking-points?after=pas-un-nombre")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/tags/a%0Ab", "/api/nowhere%0A", "/api/v1/x%0A/y"])
def test_an_api_path_with_an_encoded_line_break_is_a_json_404(hq_api, path):
    for method in ("get", "delete"):
        response = getattr(hq_api, method)(path)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json")
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unsafe_method_on_an_unknown_api_path_is_a_json_404_not_a_csrf_page(method):
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/v1/nowhere")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["error"]["code"] == "not_found"


# --- NUL characters: PostgreSQL cannot store them, and failed with a 500 -----------------------


def test_a_nul_character_in_a_body_is_a_422_naming_the_field(hq_api):
    response = hq_api.post("/api/v1/tags", {"name": "jeu\x00nes"})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "The request has invalid values.",
        "details": [
            {
                "in": "body",
                "field": "name",
                "message": "Text may not contain a NUL character (U+0000).",
            }
        ],
    }
    assert not Tag.objects.exists()


def test_a_nul_character_deep_in_a_body_or_in_a_key_is_named_by_its_path(hq_api):
    mission = {"title": "t", "brief": "b", "kind": "relay", "role": "x", "target_sites": ["a\x00"]}
    response = hq_api.post("/api/v1/missions", mission)
    assert response.json()["error"]["details"][0]["field"] == "target_sites.0"
    response = hq_api.post("/api/v1/tags", {"name": "x", "ex\x00tra": 1})
    assert (response.status_code, response.json()["error"]["details"][0]["field"]) == (
        422,
        "ex\x00tra",
    )
    assert not Tag.objects.exists() and not Mission.objects.exists()


def test_a_nul_character_in_a_query_value_is_a_422(hq_api):
    response = hq_api.get("/api/v1/talking-points?tag=a%00b")
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"in": "query", "field": "tag", "message": "Text may not contain a NUL character (U+0000)."}
    ]


def test_a_nul_character_in_a_path_is_a_json_404(hq_api):
    response = hq_api.delete("/api/v1/tags/a%00b")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_authentication_still_comes_before_the_nul_check(anonymous):
    response = anonymous.post("/api/v1/tags", {"name": "a\x00"})
    assert response.status_code == 401
