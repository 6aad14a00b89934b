"""The sizes the OpenAPI schema states for files sent over the API (kit files, proof
screenshots) are the sizes the server applies: the services' own limits, within what Django's
request body limit (DATA_UPLOAD_MAX_MEMORY_SIZE) lets through."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from essaim.api.testing import api_for
from essaim.api.uploads import BODY_RESERVE
from essaim.army.models import Claim, KitFile, MissionKind, Proof, Stage
from essaim.army.services.kits import MAX_KIT_FILE_BYTES
from essaim.army.services.proofs import MAX_NOTE, MAX_SCREENSHOT_BYTES, MAX_URL_LENGTH, MAX_URLS
from essaim.army.tests.factories import make_volunteer
from essaim.army.tests.mission_helpers import make_mission

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def api_limit(service_limit: int) -> int:
    """What the server lets through: the service's limit, and a body Django reads whole."""
    return min(service_limit, (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - BODY_RESERVE) * 3 // 4)


def schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def field(component: str, name: str) -> dict[str, Any]:
    spec = schema()["components"]["schemas"][component]["properties"][name]
    # An optional field is an anyOf of the string and null.
    return next((s for s in spec.get("anyOf", []) if s.get("type") == "string"), spec) | {
        k: v for k, v in spec.items() if k != "anyOf"
    }


@pytest.mark.parametrize(
    ("component", "name", "service_limit"),
    [
        ("KitFileIn", "content_base64", MAX_KIT_FILE_BYTES),
        ("ProofIn", "screenshot_base64", MAX_SCREENSHOT_BYTES),
    ],
)
def test_the_schema_states_the_file_sizes_the_server_applies(component, name, service_limit):
    spec = field(component, name)
    limit = api_limit(service_limit)
    assert spec["x-max-bytes"] == limit
    assert spec["maxLength"] == 4 * -(-limit // 3)  # padded base64 of `limit` bytes
    assert spec["description"].endswith(f"At most {limit} bytes once decoded.")


def test_a_proof_at_every_schema_maximum_fits_in_the_request_body_limit():
    spec = schema()["components"]["schemas"]["ProofIn"]["properties"]
    assert (spec["urls"]["maxItems"], spec["urls"]["items"]["maxLength"]) == (
        MAX_URLS,
        MAX_URL_LENGTH,
    )
    assert spec["note"]["maxLength"] == MAX_NOTE
    # Each character written as a 12-byte escape: the worst a JSON encoder does.
    worst = {
        "urls": ["\U0001f600" * MAX_URL_LENGTH] * MAX_URLS,
        "note": "\U0001f600" * MAX_NOTE,
        "screenshot_base64": "A" * field("ProofIn", "screenshot_base64")["maxLength"],
    }
    assert len(json.dumps(worst, ensure_ascii=True)) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.fixture
def kit(hq: Any) -> Any:
    return make_mission(by=hq, kind=MissionKind.PLACE, title="Bannière"), api_for(hq)


def pdf(size: int) -> str:
    return base64.b64encode(b"%PDF-1.4\n" + b"0" * (size - 9)).decode()


def test_a_kit_file_of_the_stated_size_is_taken(kit):
    mission, api = kit
    limit = field("KitFileIn", "content_base64")["x-max-bytes"]
    response = api.post(
        f"/api/v1/missions/{mission.pk}/kit/files", {"name": "tract", "content_base64": pdf(limit)}
    )
    assert (response.status_code, response.json()["size"]) == (201, limit)


def test_a_kit_file_one_byte_over_the_stated_size_is_a_422_and_stores_nothing(kit):
    mission, api = kit
    limit = field("KitFileIn", "content_base64")["x-max-bytes"]
    response = api.post(
        f"/api/v1/missions/{mission.pk}/kit/files",
        {"name": "tract", "content_base64": pdf(limit + 1)},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], [d["field"] for d in error["details"]]) == (
        "validation_error",
        ["content_base64"],
    )
    assert KitFile.objects.count() == 0


def test_a_screenshot_one_byte_over_the_stated_size_is_a_422_and_proves_nothing():
    volunteer = make_volunteer(roles={"tchatcheur": Stage.ACTIVE})
    mission = make_mission()
    api = api_for(volunteer.user)
    claim_id = api.post(f"/api/v1/missions/{mission.pk}/claim").json()["id"]
    limit = field("ProofIn", "screenshot_base64")["x-max-bytes"]
    over = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * (limit - 7)).decode()
    response = api.post(f"/api/v1/claims/{claim_id}/proof", {"screenshot_base64": over})
    assert response.status_code == 422
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == ["screenshot_base64"]
    assert (Claim.objects.get().status, Proof.objects.count()) == ("claimed", 0)


def test_a_body_above_django_s_limit_is_the_documented_413(kit):
    mission, api = kit
    paths = schema()["paths"]
    for path in ("/api/v1/missions/{id}/kit/files", "/api/v1/claims/{id}/proof"):
        assert "413" in paths[path]["post"]["responses"]
    response = api.post(
        f"/api/v1/missions/{mission.pk}/kit/files",
        raw=" " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + "{}",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert KitFile.objects.count() == 0
