"""The API root mounts the domain apps' routers from settings.API_ROUTERS and imports no app:
each app owns its router (essaim/people/api.py, essaim/mailing/api.py, essaim/army/api/)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.module_loading import import_string
from ninja import Router

import essaim.api

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

# Every layer may use these; the domain apps above them plug in through settings.
ALLOWED_ESSAIM_PACKAGES = {"essaim.api", "essaim.accounts", "essaim.lib"}


def _essaim_imports(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name == "essaim" or name.startswith("essaim.")}


def test_the_api_root_imports_no_domain_app() -> None:
    package = Path(essaim.api.__file__).parent
    sources = [p for p in package.rglob("*.py") if "tests" not in p.relative_to(package).parts]
    offending = {
        f"{source.relative_to(package)}: {name}"
        for source in sources
        for name in _essaim_imports(source)
        if ".".join(name.split(".")[:2]) not in ALLOWED_ESSAIM_PACKAGES
    }
    assert len(sources) == 23  # every module of the root, its command and migrations included
    assert offending == set()


def test_every_entry_of_api_routers_is_an_apps_own_router() -> None:
    assert [prefix for prefix, _ in settings.API_ROUTERS] == ["/v1/", "/v1/", "/v1/", "/v1/"]
    for _, dotted_path in settings.API_ROUTERS:
        router = import_string(dotted_path)
        assert isinstance(router, Router)
        assert not dotted_path.startswith("essaim.api.")


def test_the_schema_lists_each_apps_operations_in_the_order_of_api_routers(db) -> None:
    paths = Client().get("/api/openapi.json").json()["paths"]
    tags = [operation["tags"][0] for path in paths.values() for operation in path.values()]
    # The root's own health first, then people's router, mailing's, the army's sub-routers,
    # the watch's.
    assert [tag for tag, _ in itertools.groupby(tags)] == [
        "meta",
        "base",
        "gdpr",
        "base",
        "campaigns",
        "army",
        "missions",
        "calls",
        "invitations",
        "missions",
        "watch",
    ]
