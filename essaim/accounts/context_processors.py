from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from essaim.accounts.services import notifications, twofactor
from essaim.accounts.services.navigation import Badge, menu_for


@dataclass
class NavItem:
    label: str
    url: str
    # "page" on the page itself, "location" on a page below it (a contact under Contacts).
    current: str = ""
    # Called by the template (only where the menu is drawn): a count shown beside the entry.
    badge: Badge | None = None


@dataclass
class NavGroup:
    label: str
    items: list[NavItem] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(item.current for item in self.items)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a person sees follows their role: volunteers never get a link to the base.

    Entries are grouped by pillar, each app filling its own (essaim.accounts.services.navigation);
    `nav_items` is the same menu, flat, as (label, url) pairs. `unread_notifications`, for the
    bell of the top bar, is a function the template calls (one query, shared with the menu's
    badges, and none on a page that draws no menu).
    """
    user = request.user
    groups: list[NavGroup] = []
    # A session that still owes its second factor reaches none of these pages: no menu.
    if user.is_authenticated and not twofactor.pending_step(request):
        groups = [
            NavGroup(
                str(label), [NavItem(str(item.label), item.url, badge=item.badge) for item in items]
            )
            for label, items in menu_for(user)
        ]
        _mark_current(groups, request.path)
    items = [(item.label, item.url) for g in groups for item in g.items]
    context: dict[str, Any] = {"nav_groups": groups, "nav_items": items}
    if groups:
        context["unread_notifications"] = lambda: notifications.unread_count(user)
    return context


def _mark_current(groups: list[NavGroup], path: str) -> None:
    """The entry whose URL is the longest prefix of the path is the current place; the home page
    is current only on itself."""
    best: NavItem | None = None
    for item in (item for g in groups for item in g.items):
        if path == item.url:
            item.current = "page"
            return
        longer = best is None or len(item.url) > len(best.url)
        if item.url != "/" and path.startswith(item.url) and longer:
            best = item
    if best is not None:
        best.current = "location"
