"""Every API error has one JSON shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from essaim.people.models import Segment

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

CONTACTS = "/api/v1/contacts"


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert sorted(body["error"]) == ["code", "details", "message"]
    return body["error"]


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/v1/nope", "/api/v2/contacts", "/api/v1/contacts/1/nope", "/api/"]
)
def test_unknown_routes_under_api_are_json_404(hq_api, path):
    response = hq_api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_unknown_route_names_the_path(anonymous):
    assert error_of(anonymous.post("/api/v1/missing"))["message"] == (
        "No API route at /api/v1/missing."
    )


def test_routes_outside_the_api_keep_the_site_404(db):
    response = Client().get("/nowhere/at/all/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_is_json_405_with_allow(hq_api):
    response = hq_api.post(CONTACTS, {})
    assert response.status_code == 405
    assert error_of(response) == {
        "code": "method_not_allowed",
        "message": "Method not allowed.",
        "details": {"allowed": ["GET", "PUT"]},
    }
    assert response["Allow"] == "GET, PUT"


def test_validation_errors_are_422_with_field_details(hq_api):
    response = hq_api.get(CONTACTS, limit="many")
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "validation_error",
        "message": "The request has invalid values.",
        "details": [
            {
                "in": "query",
                "field": "limit",
                "message": "Input should be a valid integer, unable to parse string as an integer",
                "type": "int_parsing",
            }
        ],
    }


def test_an_unexpected_failure_is_a_logged_json_500_without_internals(hq_api, monkeypatch, caplog):
    segment = Segment.objects.create(name="Tous", definition={})

    def broken(segment: Segment) -> int:
        raise RuntimeError("database on fire at /srv/secret/path")

    monkeypatch.setattr("essaim.people.api.count_segment", broken)
    with caplog.at_level(logging.ERROR, logger="essaim.api"):
        response = hq_api.get(f"/api/v1/segments/{segment.pk}")
    assert response.status_code == 500
    assert error_of(response) == {
        "code": "server_error",
        "message": "Internal error: it was logged; try again later.",
        "details": None,
    }
    assert b"secret" not in response.content
    [record] = [r for r in caplog.records if r.name == "essaim.api"]
    assert record.exc_info is not None and "database on fire" in str(record.exc_info[1])


def test_a_body_over_the_upload_limit_is_413(settings, hq_api):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = hq_api.put(CONTACTS, {"email": "a@b.fr", "first_name": "x" * 2000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("put", CONTACTS, "{", 400, "bad_request"),
        ("get", CONTACTS, None, 401, "unauthorized"),
        ("get", "/api/v1/contacts/999", None, 404, "not_found"),
        ("put", CONTACTS, "{}", 422, "validation_error"),
    ],
)
def test_each_status_uses_the_error_shape(hq_api, anonymous, method, path, body, status, code):
    api = anonymous if status == 401 else hq_api
    response = api.request(method, path, raw=body)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_forbidden_conflict_and_rate_limited_use_the_error_shape(
    settings, volunteer_api, hq_api, paris_contact
):
    assert error_of(volunteer_api.get(CONTACTS))["code"] == "forbidden"
    hq_api.post("/api/v1/tags", {"name": "t"})
    assert error_of(hq_api.post("/api/v1/tags", {"name": "t"}))["code"] == "exists"
    settings.API_RATE_LIMIT = "1/m"
    hq_api.get(CONTACTS)
    assert error_of(hq_api.get(CONTACTS))["code"] == "rate_limited"


def test_token_requests_need_no_csrf_token(hq_api):
    # Real clients send no CSRF cookie: the API (bearer tokens, no session) must stay exempt,
    # through the URL wrapper too. Django's test client skips CSRF checks unless told.
    client = Client(enforce_csrf_checks=True)
    response = client.put(
        CONTACTS,
        data='{"email": "a@exemple.fr", "consents": [{"purpose": "news", "basis": "membership"}]}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {hq_api.token}"},
    )
    assert response.status_code == 201
    assert client.post("/api/v1/tags", data={}, headers={"Authorization": "x"}).status_code == 401
