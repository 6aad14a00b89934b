"""The menu, which every app fills from its AppConfig.ready with the entries it owns.

Accounts knows no pillar: each app registers its entries in a group (`Group`, ordered), and each
entry decides from the user whether it shows, so a volunteer never gets a link to the base.
A new pillar (the watch, the atlas) registers its own group the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    order: int


HOME = Group("home", "", 0)
BASE = Group("base", _("Base"), 20)
CAMPAIGNS = Group("campaigns", _("Campagnes"), 30)
ARMY = Group("army", _("Armée"), 40)
ADMINISTRATION = Group("administration", _("Administration"), 90)
ACCOUNT = Group("account", _("Compte"), 100)

# A count shown beside an entry (unread notifications of its kinds): a function called only when
# the menu is drawn, so that a page without menu (an htmx fragment) queries nothing. The badges
# of one menu share one query (essaim.accounts.services.notifications.unread_counts).
Badge = Callable[[], int]
# user → the entries it may see: (label, url), (label, url, badge), or None for one it may not.
Item = tuple[str, str] | tuple[str, str, Badge | None]
Entries = Callable[[Any], Iterable[Item | None]]


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url: str
    badge: Badge | None = None


_registry: dict[tuple[str, str], tuple[Group, int, Entries]] = {}


def register_menu(name: str, group: Group, entries: Entries, *, order: int = 50) -> None:
    """Declare entries of `group` (from an AppConfig.ready), placed by `order` among the other
    apps' entries of the group; the same name twice replaces it."""
    _registry[(group.key, name)] = (group, order, entries)


def menu_for(user: Any) -> list[tuple[str | Promise, list[MenuEntry]]]:
    """The groups this user sees, each with its entries, in menu order; empty groups left out."""
    groups: dict[str, tuple[Group, list[tuple[int, Entries]]]] = {}
    for group, order, entries in _registry.values():
        groups.setdefault(group.key, (group, []))[1].append((order, entries))
    menu = []
    for group, providers in sorted(groups.values(), key=lambda g: g[0].order):
        items = [
            MenuEntry(*item)
            for _order, entries in sorted(providers, key=lambda p: p[0])
            for item in entries(user)
            if item is not None
        ]
        if items:
            menu.append((group.label, items))
    return menu
