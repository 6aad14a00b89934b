"""The home page's panels, which every app fills from its AppConfig.ready with the figures it owns.

Like the menu (navigation.py), accounts knows no pillar: a panel is a template of its app and a
function that, given the user, returns that template's context, or None when the panel is not
for them. The function decides with its app's rules (a volunteer never gets a figure of the base,
a coordinator the figures of their zones and teams only) and reads its figures from its app's
services. The home page shows the panels it gets, in `order`; a new pillar (the watch, the
atlas) registers its own the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

# user → the panel's template context, or None when the panel is not for this user.
Build = Callable[[Any], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    build: Build
    order: int


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template: str
    context: Mapping[str, Any]


_registry: dict[str, Panel] = {}


def register_panel(name: str, template: str, build: Build, *, order: int = 50) -> None:
    """Declare a panel of the home page (from an AppConfig.ready), placed by `order` among the
    other apps' panels; the same name twice replaces it."""
    _registry[name] = Panel(name, template, build, order)


def panels_for(user: Any) -> list[ShownPanel]:
    """The panels this user sees, in order, each with its context."""
    shown = []
    for panel in sorted(_registry.values(), key=lambda p: (p.order, p.name)):
        context = panel.build(user)
        if context is not None:
            shown.append(ShownPanel(panel.name, panel.template, context))
    return shown


def cached_figures[T](key: str, compute: Callable[[], T]) -> T:
    """`compute()`, kept DASHBOARD_CACHE_SECONDS in the cache under `key` (which must name
    everything the figures depend on: the app, the user's scope) and today's date, so that a
    day's figures never show the next day."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    day = timezone.localdate().isoformat()
    return cache.get_or_set(f"dashboard:{key}:{day}", compute, seconds)  # type: ignore[return-value]
