"""Least privilege: a volunteer — even one who coordinates a team — never reaches the base.
Every page under /base/ and every operation of the JSON API but their own is tried, with GET and
POST (or the operation's method), and must be refused with nothing changed anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, reverse

from essaim.accounts.models import AuditEvent
from essaim.api.root import api
from essaim.api.services import create_token
from essaim.army.tests.factories import TeamFactory, VolunteerFactory
from essaim.people import urls as people_urls
from essaim.people.models import ImportBatch, Segment, Tag
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

# Operations that belong to the volunteer (their own profile and teams): not the base.
OWN_API_PREFIXES = ("/api/v1/me", "/api/v1/teams")
# A volunteer's own mission work (offers, claims, proofs); reviewing stays refused and tested.
OWN_MISSION_PATHS = {
    "/api/v1/missions/offered",
    "/api/v1/missions/{id}/claim",
    "/api/v1/claims",
    "/api/v1/claims/{id}/proof",
    "/api/v1/claims/{id}/release",
}


@pytest.fixture
def base() -> dict[str, Any]:
    contact = make_contact(email="marie@exemple.fr", postcode="75011", tags=["jeunes"])
    tag = Tag.objects.get()
    segment = Segment.objects.create(name="Jeunes", definition={"all": []})
    batch = ImportBatch.objects.create(filename="a.csv", path="a.csv", basis="membership")
    return {"contact": contact, "tag": tag, "segment": segment, "batch": batch}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the base, the mailing and the audit log."""
    models: list[type[Model]] = [
        *apps.get_app_config("people").get_models(),
        *apps.get_app_config("mailing").get_models(),
        AuditEvent,
    ]
    return {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in models}


def volunteer_client() -> Client:
    team = TeamFactory.create()
    volunteer = VolunteerFactory.create(roles=["traceur"], teams=[team])
    team.memberships.filter(user=volunteer.user).update(is_coordinator=True)
    client = Client()
    client.force_login(volunteer.user)
    return client


def people_paths(base: dict[str, Any]) -> list[str]:
    ids = {
        "contact": base["contact"].pk,
        "segment": base["segment"].pk,
        "tag": base["tag"].pk,
        "import": base["batch"].pk,
    }
    paths = []
    for pattern in people_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        name = str(pattern.name)
        kwargs = {}
        if "<int:pk>" in str(pattern.pattern):
            kind = next(k for k in ids if name.startswith(k))
            kwargs["pk"] = ids[kind]
        paths.append(reverse(f"people:{name}", kwargs=kwargs))
    return paths


def test_every_page_of_the_base_refuses_a_volunteer_and_changes_nothing(base):
    client = volunteer_client()
    before = snapshot()
    paths = people_paths(base)
    assert len(paths) == len(people_urls.urlpatterns) >= 20
    for path in paths:
        for method in ("get", "post"):
            response = getattr(client, method)(
                path, {"name": "x", "confirm": "1", "email": "a@b.fr"}
            )
            assert response.status_code in (403, 405), (method, path, response.status_code)
    assert snapshot() == before


def test_every_api_operation_on_the_base_refuses_a_volunteer_token_and_changes_nothing(base):
    cache.clear()
    volunteer = VolunteerFactory.create()
    _, token = create_token(user=volunteer.user, name="essai", scopes=["read", "write"])
    before = snapshot()
    tried = 0
    for path, operations in api.get_openapi_schema()["paths"].items():
        if path == "/api/health" or path.startswith(OWN_API_PREFIXES) or path in OWN_MISSION_PATHS:
            continue
        concrete = path.replace("{id}", str(base["contact"].pk)).replace("{name}", "jeunes")
        for method in operations:
            body = {} if method == "get" else {"data": json.dumps({"email": "x@y.fr", "name": "x"})}
            response = getattr(Client(), method)(
                concrete,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
                **body,
            )
            assert response.status_code == 403, (method, path, response.status_code)
            tried += 1
    assert tried >= 20
    after = snapshot()
    # Issuing the token was audited before the snapshot; nothing after it.
    assert after == before
