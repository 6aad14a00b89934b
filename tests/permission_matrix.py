"""The machinery of the permission matrix: what the code exposes (every URL pattern from the
resolver, every operation of the API's OpenAPI schema), how a table entry turns into a request,
how an answer is named, and what "nothing changed" and "nothing leaked" mean.

The table itself is tests/permission_table.py; the tests are tests/test_permission_matrix.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.permission_world import API_ROLES, WEB_ROLES, World

# What the matrix does not list, and why. Nothing else may be left out.
EXCLUDED_NAMESPACES = {
    # Django's own admin site: every page of it asks User.is_staff (HQ admins only) before
    # anything else; the matrix checks that door through the entries "admin:index" and
    # "admin:login" and leaves the model pages Django generates to Django's own tests.
    "admin": {"index", "login"},
}
# Outcomes that refuse the request (or a conflict with the object's state: 409): the database
# must not change and the answer must show none of the world's personal data. "login" is a
# redirect to the login page.
REFUSALS = {"login", "400", "401", "403", "404", "405", "409", "422", "429"}
OUTCOMES = REFUSALS | {"200", "201", "202", "204", "302"}
# Roles that may never see any of the world's personal data, whatever the answer: the
# anonymous visitor, a volunteer (volunteers never see the base nor a fellow member's address)
# and the coordinator of another team (every person of the world lives in Paris or is
# reached through the Paris team). Their allowed answers are searched as refusals are.
NEVER_SHOWN_TO = {"anonymous", "volunteer", "other_coordinator"}
# Rows that a refused request may legitimately touch: the session (a flash message) and a
# token's last use (written when it authenticates, before the permission check refuses).
IGNORED_MODELS = {"sessions.Session"}
# A token's last use (time and address) is written by any request it authenticates, refused or not.
IGNORED_FIELDS = {("api.ApiToken", "last_used_at"), ("api.ApiToken", "last_used_ip")}

_CONVERTER_RE = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route itself when the pattern has no name
    route: str  # the full route, e.g. "base/contacts/<int:pk>/"
    namespace: str


def walk(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[Pattern]:
    for item in patterns:
        route = prefix + str(item.pattern)
        if isinstance(item, URLResolver):
            ns = namespace
            if item.namespace:
                ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
            yield from walk(item.url_patterns, route, ns)
            continue
        key = f"{namespace}:{item.name}" if item.name and namespace else (item.name or route)
        yield Pattern(key=key, route=route, namespace=namespace)


def openapi_path(route: str) -> str:
    """/api/v1/contacts/{id} for the route "api/v1/contacts/<int:id>" (ninja's own routes)."""
    return "/" + _CONVERTER_RE.sub(r"{\1}", route)


def api_operations() -> list[str]:
    """Every operation of the API as "METHOD /path", from the OpenAPI schema clients get."""
    from essaim.api.root import api

    schema = api.get_openapi_schema(path_prefix="/api/")
    return sorted(
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def web_patterns() -> dict[str, Pattern]:
    """Every URL pattern the matrix must list, except the API's operations (listed by
    operation) and the exclusions above."""
    operations = {op.split(" ", 1)[1] for op in api_operations()}
    found: dict[str, Pattern] = {}
    for pattern in walk(get_resolver().url_patterns):
        top = pattern.namespace.split(":", 1)[0]
        if (
            top in EXCLUDED_NAMESPACES
            and pattern.key.split(":")[-1] not in (EXCLUDED_NAMESPACES[top])
        ):
            continue
        if top == "api" and openapi_path(pattern.route) in operations:
            continue
        found[pattern.key] = pattern
    return found


# --- The table's entries ---------------------------------------------------------------------


def _row(text: str, roles: tuple[str, ...]) -> dict[str, str]:
    cells = text.split()
    if len(cells) != len(roles):
        raise ValueError(f"{text!r}: {len(roles)} outcomes expected, one per role {roles}")
    unknown = set(cells) - OUTCOMES
    if unknown:
        raise ValueError(f"{text!r}: unknown outcome(s) {sorted(unknown)}; one of {OUTCOMES}")
    return dict(zip(roles, cells, strict=True))


def _kwargs(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split()) if text else {}


@dataclass(frozen=True)
class Web:
    """A page: its kwargs ("pk=contact": the URL's `pk` is the world's contact) and the outcome
    of a GET and of a POST for each role, in the order of WEB_ROLES."""

    get: dict[str, str]
    post: dict[str, str]
    kwargs: dict[str, str]
    path: str | None  # for a pattern without a name: the path to request

    def url(self, key: str, world: World) -> str:
        if self.path is not None:
            return self.path
        kwargs = {name: world.objects[ref] for name, ref in self.kwargs.items()}
        return reverse(key, kwargs=kwargs)


def web(kwargs: str = "", *, get: str, post: str, path: str | None = None) -> Web:
    return Web(_row(get, WEB_ROLES), _row(post, WEB_ROLES), _kwargs(kwargs), path)


@dataclass(frozen=True)
class Api:
    """An operation: its path parameters ("id=contact") and its outcome for each role, in the
    order of API_ROLES. Writes are sent an empty JSON object: a role allowed to write gets past
    the permission check to the validation (usually 422), a refused one never gets there."""

    outcomes: dict[str, str]
    params: dict[str, str]
    body: dict[str, Any] | None

    def url(self, path: str, world: World) -> str:
        def fill(match: re.Match[str]) -> str:
            return str(world.objects[self.params[match[1]]])

        return re.sub(r"\{(\w+)\}", fill, path)

    def json_body(self, world: World) -> str:
        """The body sent with a write: `body`, its "@name" values replaced by the world's ids."""

        def fill(value: Any) -> Any:
            if isinstance(value, str) and value.startswith("@"):
                return world.objects[value[1:]]
            return value

        return json.dumps({k: fill(v) for k, v in (self.body or {}).items()})


def api(outcomes: str, params: str = "", *, body: dict[str, Any] | None = None) -> Api:
    """`body`: a valid body for a write whose refusal depends on the object it names (a
    coordinator of another team writing to this team's things): with an empty body, allowed and
    refused roles would both read 422."""
    return Api(_row(outcomes, API_ROLES), _kwargs(params), body)


# --- Requests and answers --------------------------------------------------------------------


def client_for(world: World, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def outcome(response: HttpResponse) -> str:
    if 300 <= response.status_code < 400:
        location = response["Location"]
        if location.split("?", 1)[0] == reverse("accounts:login"):
            return "login"
        return "302"
    return str(response.status_code)


def body_of(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        # The test client's wrapper closes the response once read, without the signal that
        # would close the database connection in the middle of the test's transaction.
        content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    else:
        content = response.content
    return content.decode("utf-8", "replace").casefold()


def leaked(response: HttpResponse, world: World) -> list[str]:
    body = body_of(response)
    return [secret for secret in world.secrets if secret.casefold() in body]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model (the world is small): a refused request must leave them all,
    the audit log included, exactly as they were."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for model in apps.get_models():
        meta = model._meta
        if not meta.managed or meta.proxy or meta.label in IGNORED_MODELS:
            continue
        fields = [
            f.attname for f in meta.concrete_fields if (meta.label, f.name) not in IGNORED_FIELDS
        ]
        rows[meta.label] = list(model._base_manager.order_by("pk").values_list(*fields))
    return rows


def changes(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return [
        f"{label}: {len(before[label])} -> {len(after[label])} rows"
        if len(before[label]) != len(after[label])
        else f"{label}: rows changed"
        for label in before
        if before[label] != after[label]
    ]


def suggestion_for_pattern(pattern: Pattern) -> str:
    names = _CONVERTER_RE.findall(pattern.route)
    kwargs = " ".join(f"{name}=?" for name in names)
    blank = " ".join("?" for _ in WEB_ROLES)
    return (
        f'    "{pattern.key}": web("{kwargs}", get="{blank}", post="{blank}"),  # /{pattern.route}'
    )


def suggestion_for_operation(operation: str) -> str:
    names = re.findall(r"\{(\w+)\}", operation)
    params = " ".join(f"{name}=?" for name in names)
    blank = " ".join("?" for _ in API_ROLES)
    return f'    "{operation}": api("{blank}", "{params}"),'
