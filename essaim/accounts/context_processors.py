from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from essaim.accounts import rules
from essaim.accounts.services import twofactor


@dataclass
class NavItem:
    label: str
    url: str
    # "page" on the page itself, "location" on a page below it (a contact under Contacts).
    current: str = ""


@dataclass
class NavGroup:
    label: str
    items: list[NavItem] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(item.current for item in self.items)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a person sees follows their role: volunteers never get a link to the base.

    Entries are grouped by pillar (the watch and the atlas get their own groups when they come);
    `nav_items` is the same menu, flat, as (label, url) pairs.
    """
    user = request.user
    groups: list[NavGroup] = []

    def group(label: str, *entries: tuple[str, str] | None) -> None:
        items = [NavItem(label, url) for label, url in filter(None, entries)]
        if items:
            groups.append(NavGroup(label, items))

    # A session that still owes its second factor reaches none of these pages: no menu.
    if user.is_authenticated and not twofactor.pending_step(request):
        volunteer = user.is_volunteer  # type: ignore[union-attr]
        hq = rules.is_hq(user)
        manage_base = rules.can_manage_base(user)
        contacts = rules.can_view_contacts(user)
        campaigns = rules.can_manage_campaigns(user)
        group("", (_("Accueil"), reverse("home")))
        group(
            _("Base"),
            (_("Contacts"), reverse("people:contact_list")) if contacts else None,
            (_("Segments"), reverse("people:segment_list")) if manage_base else None,
            (_("Étiquettes"), reverse("people:tag_list")) if manage_base else None,
            (_("Imports"), reverse("people:import_list")) if manage_base else None,
        )
        group(
            _("Campagnes"),
            (_("Campagnes"), reverse("mailing:campaign_list")) if campaigns else None,
        )
        group(
            _("Armée"),
            (_("Équipes"), reverse("army:team_list")),
            # Missions: by account role, without a query on every page (the pages check again).
            (_("Mes missions"), reverse("army:my_missions")) if volunteer else None,
            (_("Mes invitations"), reverse("army:invitations")) if volunteer else None,
            (_("Missions"), reverse("army:missions_run"))
            if hq or user.is_coordinator  # type: ignore[union-attr]
            else None,
            (_("Appels"), reverse("army:call_list")) if campaigns else None,
            (_("Invitations signalées"), reverse("army:invitation_reports")) if hq else None,
        )
        group(
            _("Administration"),
            (_("Journal d'audit"), reverse("accounts:audit_log")) if hq else None,
            (_("Jetons d'API"), reverse("api_tokens:list"))
            if rules.can_manage_api_tokens(user)
            else None,
            (_("Sécurité"), reverse("accounts:security")) if rules.is_hq_admin(user) else None,
            (_("Guide de style"), reverse("accounts:style_guide")) if hq else None,
            (_("Boîte de dev"), reverse("devmail:inbox")) if rules.can_read_devmail(user) else None,
        )
        group(
            _("Compte"),
            (_("Mon espace"), reverse("army:profile")) if volunteer else None,
            (_("Double authentification"), reverse("accounts:two_factor_settings"))
            if not volunteer
            else None,
        )
        _mark_current(groups, request.path)
    items = [(item.label, item.url) for g in groups for item in g.items]
    return {"nav_groups": groups, "nav_items": items}


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
