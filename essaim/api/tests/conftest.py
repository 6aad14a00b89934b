"""The API's cast: a token for each user of the root conftest, a client that speaks JSON with a
bearer token, and contacts in Paris (75) and Lyon (69)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from essaim.accounts.models import User
from essaim.api.models import Scope
from essaim.api.services import create_token, revoke_token
from essaim.people.models import Contact, Purpose
from essaim.people.services.contacts import ConsentGrant, clean_contact_data, upsert_contact


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    # Rate-limit windows live in the cache (Redis db or the database cache), not in the
    # transaction each test rolls back.
    cache.clear()


@dataclass
class Api:
    """A JSON client with an optional bearer token."""

    token: str | None = None

    def request(
        self, method: str, path: str, body: Any = None, *, raw: str | None = None, **extra: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": headers, **extra}
        if data is not None:
            kwargs |= {"data": data, "content_type": "application/json"}
        return getattr(Client(), method)(path, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("get", path, data=params) if params else self.request("get", path)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("put", path, body, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("post", path, body, **kw)

    def delete(self, path: str) -> Any:
        return self.request("delete", path)


def api_for(user: User, **kw: Any) -> Api:
    """A client with a token of `user`; every scope, reading contacts included, unless told."""
    kw.setdefault("scopes", Scope.values)
    _, raw = create_token(user=user, name=f"tests {user.role}", **kw)
    return Api(raw)


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


GRANTED_NEWS = ConsentGrant(purpose=Purpose.NEWS, basis="membership", source="staff")


def make_contact(
    email: str, *, postcode: str = "", tags: tuple[str, ...] = (), **fields: str
) -> Contact:
    data = clean_contact_data(email=email, postcode=postcode, **fields)
    contact, _ = upsert_contact(data=data, consents=[GRANTED_NEWS], source="staff", tags=tags)
    return contact


@pytest.fixture
def paris_contact(db: Any) -> Contact:
    return make_contact(
        "Marie.Curie@Exemple.fr",
        postcode="75005",
        first_name="Marie",
        last_name="Curie",
        phone="06 12 34 56 78",
        tags=("jeunes",),
    )


@pytest.fixture
def lyon_contact(db: Any) -> Contact:
    return make_contact("louis.lumiere@exemple.fr", postcode="69003", last_name="Lumière")
