"""Schemathesis against the API's own OpenAPI schema, in process (WSGI, no network).

Every operation gets a bounded number of generated requests (examples and fuzzing, positive and
negative; not the coverage phase, whose size grows with the schema), derandomized so that a run
is the same run every time. Each request is sent with an HQ token that has every scope and again
with a read-only one; every answer must be documented: no 5xx, a status code the operation lists,
its content type, a body that matches its schema. Selected with `-m schemathesis`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from essaim.accounts.models import User
from essaim.api.services import create_token
from essaim.army.models import MissionKind, Stage
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import make_mission
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.tests.factories import make_contact

pytestmark = [pytest.mark.schemathesis, pytest.mark.usefixtures("fresh_rate_limits")]

# Per operation: ~60 operations x 2 tokens stay well under two minutes on 2 cores. A deeper run
# by hand: SCHEMATHESIS_MAX_EXAMPLES=500 pytest -m schemathesis.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded when the module is collected, from the app itself: the schema view reads no database.
# (schemathesis.pytest.from_fixture would load it in a fixture, but its lazy loader reads a
# private attribute that pytest 9 no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")


@pytest.fixture(autouse=True)
def one_connection() -> Iterator[None]:
    """Requests reach the WSGI app directly, not through Django's test client, which is what
    keeps the end of a request from closing the database connection (and, on PostgreSQL, the
    test's transaction with it): done here as the test client does it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(hq: User, coordinator: User, settings: Any) -> dict[str, str]:
    """An HQ token with every scope and a read-only one, and something for them to read."""
    settings.API_RATE_LIMIT = ""  # hundreds of requests per token, on purpose
    make_contact("marie.curie@exemple.fr", postcode="75005", first_name="Marie", tags=("jeunes",))
    make_contact("louis.lumiere@exemple.fr", postcode="69003")
    CampaignFactory.create()
    team = make_team(coordinators=[coordinator])
    make_volunteer(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    make_mission(by=hq, kind=MissionKind.PLACE, title="Bannière")
    return {
        "all": create_token(user=hq, name="schemathesis")[1],
        "read": create_token(user=hq, name="schemathesis read", scopes=["read"])[1],
    }


@schema.parametrize()
# The tokens and data are made once per operation, and shared by its examples on purpose.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_of_the_api_is_documented(case: Any, tokens: dict[str, str]) -> None:
    for token in (tokens["all"], tokens["read"]):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
