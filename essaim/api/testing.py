"""A test client for the JSON API that any app's tests use (as ninja.testing or django.test):
`Api` speaks JSON with an optional bearer token, `api_for(user)` makes a token for a user.

The root conftest.py builds the cast's clients on it (`hq_api`, `coordinator_api`,
`volunteer_api`, `anonymous`, `revoked_api`…); tests import it from here, never from a conftest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client

from essaim.accounts.models import User
from essaim.api.models import Scope
from essaim.api.services import create_token


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
