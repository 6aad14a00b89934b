"""The permission matrix: every URL pattern and every API operation, for every role.

Each (pattern, role, method) and (operation, role) is a test of its own: the answer must be the
one tests/permission_table.py gives; a refused request (redirect to login, 400, 401, 403, 404,
405, 422, 429) must leave every row of every model as it was, the audit log included, and its
answer must show none of the world's personal data. A pattern or operation missing from the
table fails the suite and says what to add; an entry whose pattern is gone fails too.

The world (tests/permission_world.py) is built once for the module, in a transaction rolled
back at the end; each test runs in a savepoint rolled back after it, so an allowed write (HQ
erasing the contact) is undone before the next test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings

from tests.permission_matrix import (
    NEVER_SHOWN_TO,
    OUTCOMES,
    REFUSALS,
    api_operations,
    changes,
    client_for,
    leaked,
    outcome,
    snapshot,
    suggestion_for_operation,
    suggestion_for_pattern,
    web_patterns,
)
from tests.permission_table import API, WEB
from tests.permission_world import API_ROLES, WEB_ROLES, World, build_world

pytestmark = pytest.mark.django_db

HOW_TO = (
    "Add them to tests/permission_table.py: kwargs and params name objects of "
    "tests/permission_world.py (add one there if the page needs a new kind of object), and "
    "give one outcome per role ({roles}) among login (a redirect to the login page), "
    + ", ".join(sorted(OUTCOMES - {"login"}))
    + ":\n{lines}"
)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    # A deployment that published its security contact (/.well-known/security.txt answers),
    # running as the demo, so that the dev mailbox's pages are there to be refused or shown.
    contact = override_settings(SECURITY_CONTACT=["securite@campagne.test"], DEMO=True)
    with contact, django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        # Every test starts from this state (its own writes are rolled back after it): the
        # "before" of every refused request, taken once.
        built.baseline = snapshot()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def fresh_rate_limits(world: World) -> None:
    # Rate-limit windows live in the cache; without this, the matrix's own requests would use
    # up the sign-up or magic-link budget and later rows would read 429.
    cache.clear()


def test_every_url_pattern_has_an_entry() -> None:
    missing = [p for key, p in web_patterns().items() if key not in WEB]
    assert not missing, "URL patterns missing from the permission matrix. " + HOW_TO.format(
        roles=", ".join(WEB_ROLES), lines="\n".join(suggestion_for_pattern(p) for p in missing)
    )


def test_every_entry_names_an_existing_url_pattern() -> None:
    stale = sorted(set(WEB) - set(web_patterns()))
    assert not stale, f"Entries of WEB for patterns that no longer exist; remove them: {stale}"


def test_every_api_operation_has_an_entry() -> None:
    missing = [op for op in api_operations() if op not in API]
    assert not missing, "API operations missing from the permission matrix. " + HOW_TO.format(
        roles=", ".join(API_ROLES), lines="\n".join(suggestion_for_operation(o) for o in missing)
    )


def test_every_entry_names_an_existing_api_operation() -> None:
    stale = sorted(set(API) - set(api_operations()))
    assert not stale, f"Entries of API for operations that no longer exist; remove them: {stale}"


def _check(response: Any, expected: str, world: World, role: str, what: str) -> None:
    got = outcome(response)
    assert got == expected, f"{what}: expected {expected}, got {got}"
    if expected in REFUSALS:
        changed = changes(world.baseline, snapshot())
        assert changed == [], f"{what} was refused but changed the database"
    if expected in REFUSALS or role in NEVER_SHOWN_TO:
        assert leaked(response, world) == [], f"{what}: the answer shows personal data"


@pytest.mark.parametrize(
    ("key", "role", "method"),
    [(key, role, method) for key in WEB for method in ("GET", "POST") for role in WEB_ROLES],
)
def test_page(world: World, key: str, role: str, method: str) -> None:
    entry = WEB[key]
    expected = (entry.get if method == "GET" else entry.post)[role]
    url = entry.url(key, world)
    response = client_for(world, role).generic(method, url)
    _check(response, expected, world, role, f"{method} {url} as {role}")


@pytest.mark.parametrize(("operation", "role"), [(op, role) for op in API for role in API_ROLES])
def test_api_operation(world: World, operation: str, role: str) -> None:
    entry = API[operation]
    expected = entry.outcomes[role]
    method, path = operation.split(" ", 1)
    url = entry.url(path, world)
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {world.tokens[role]}"}
    body: dict[str, Any] = {}
    if method in {"POST", "PUT", "PATCH"}:
        body = {"data": entry.json_body(world), "content_type": "application/json"}
    response = Client().generic(method, url, headers=headers, **body)
    _check(response, expected, world, role, f"{operation} ({url}) as {role}")
