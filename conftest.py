"""Fixtures shared by every test: the cast of users, their API clients, two contacts, and real
local servers.

The cast, after Healthchecks' hc/test.py: an HQ admin, an HQ staff member, a coordinator of
Paris (75), a coordinator of Lyon (69), a volunteer, and the anonymous visitor. Permission tests
read as sentences with them. The helpers these fixtures are built on live in modules that tests
import (essaim/accounts/tests/factories.py, essaim/api/testing.py, essaim/lib/testing.py,
essaim/people/tests/factories.py); no test imports a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.test import Client

from essaim.accounts.models import User
from essaim.accounts.tests.factories import UserFactory
from essaim.api.services import revoke_token
from essaim.api.testing import Api, api_for
from essaim.lib.testing import SmtpRecorder, free_port
from essaim.people.models import Contact
from essaim.people.tests.factories import ConsentFactory, ContactEventFactory, make_contact


@pytest.fixture
def hq_admin(db: Any) -> User:
    return UserFactory.create(email="admin@qg.test", hq_admin=True)


@pytest.fixture
def hq(db: Any) -> User:
    return UserFactory.create(email="staff@qg.test", hq=True)


@pytest.fixture
def coordinator(db: Any) -> User:
    return UserFactory.create(email="coord.paris@equipe.test", coordinator=True, zones=["75"])


@pytest.fixture
def other_coordinator(db: Any) -> User:
    return UserFactory.create(email="coord.lyon@equipe.test", coordinator=True, zones=["69"])


@pytest.fixture
def volunteer(db: Any) -> User:
    return UserFactory.create(email="volontaire@equipe.test")


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hq_client(hq: User) -> Client:
    return _client_for(hq)


@pytest.fixture
def admin_client_(hq_admin: User) -> Client:
    return _client_for(hq_admin)


@pytest.fixture
def coordinator_client(coordinator: User) -> Client:
    return _client_for(coordinator)


@pytest.fixture
def volunteer_client(volunteer: User) -> Client:
    return _client_for(volunteer)


# --- The cast over the JSON API -------------------------------------------------------------


@pytest.fixture
def fresh_rate_limits(db: Any) -> None:
    """Empties the cache, where rate-limit windows live (the Redis db or the database cache),
    outside the transaction each test rolls back. API test modules use it for every test:
    `pytestmark = pytest.mark.usefixtures("fresh_rate_limits")`."""
    cache.clear()


@pytest.fixture
def anonymous(db: Any) -> Api:
    return Api()


@pytest.fixture
def hq_api(hq: User) -> Api:
    return api_for(hq)


@pytest.fixture
def coordinator_api(coordinator: User) -> Api:
    return api_for(coordinator)


@pytest.fixture
def other_coordinator_api(other_coordinator: User) -> Api:
    return api_for(other_coordinator)


@pytest.fixture
def volunteer_api(volunteer: User) -> Api:
    return api_for(volunteer)


@pytest.fixture
def revoked_api(hq: User) -> Api:
    api = api_for(hq)
    assert api.token is not None
    revoke_token(prefix=api.token[4:12])
    return api


# --- Two contacts: Paris (75, the coordinator's zone) and Lyon (69) -------------------------


def _staff_contact(email: str, *, tags: tuple[str, ...] = (), **fields: str) -> Contact:
    """A contact as the staff enter one (as people.services.contacts.upsert_contact writes it):
    a news consent on the membership basis, and the two events of its timeline."""
    contact = make_contact(email, consents={}, tags=tags, source="staff", **fields)
    ContactEventFactory.create(contact=contact, kind="created", data={"source": "staff"})
    consent = {"purpose": "news", "basis": "membership", "source": "staff", "source_ref": ""}
    ConsentFactory.create(contact=contact, **consent)
    ContactEventFactory.create(
        contact=contact, kind="consent", data=consent | {"status": "granted"}
    )
    return contact


@pytest.fixture
def paris_contact(db: Any) -> Contact:
    """Entered by the staff, with a news consent on the membership basis and one tag."""
    return _staff_contact(
        "Marie.Curie@exemple.fr",
        first_name="Marie",
        last_name="Curie",
        phone="+33612345678",
        postcode="75005",
        departement="75",
        region="11",
        tags=("jeunes",),
    )


@pytest.fixture
def lyon_contact(db: Any) -> Contact:
    return _staff_contact(
        "louis.lumiere@exemple.fr", first_name="", last_name="Lumière", postcode="69003"
    )


# --- A real SMTP server that records what it receives ---------------------------------------


@pytest.fixture
def smtp_recorder(settings: Any) -> Iterator[SmtpRecorder]:
    """An aiosmtpd server on a free loopback port; Django's transactional mail goes to it."""
    recorder = SmtpRecorder("127.0.0.1", free_port())
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": recorder.host, "port": recorder.port, "timeout": 5},
        }
    }
    try:
        yield recorder
    finally:
        controller.stop()
