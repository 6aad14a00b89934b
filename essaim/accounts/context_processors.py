from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from essaim.accounts import rules
from essaim.accounts.services import twofactor


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a person sees follows their role: volunteers never get a link to the base."""
    user = request.user
    items: list[tuple[str, str]] = []
    # A session that still owes its second factor reaches none of these pages: no menu.
    if user.is_authenticated and not twofactor.pending_step(request):
        items.append((_("Accueil"), reverse("home")))
        if user.is_volunteer:  # type: ignore[union-attr]
            items.append((_("Mon espace"), reverse("army:profile")))
        items.append((_("Équipes"), reverse("army:team_list")))
        if rules.can_view_contacts(user):
            items.append((_("Contacts"), reverse("people:contact_list")))
        if rules.can_manage_base(user):
            items.append((_("Segments"), reverse("people:segment_list")))
            items.append((_("Étiquettes"), reverse("people:tag_list")))
            items.append((_("Imports"), reverse("people:import_list")))
        if rules.can_manage_campaigns(user):
            items.append((_("Campagnes"), reverse("mailing:campaign_list")))
            items.append((_("Appels"), reverse("army:call_list")))
        # Missions: by account role, without a query on every page (the pages check again).
        if user.is_volunteer:  # type: ignore[union-attr]
            items.append((_("Mes missions"), reverse("army:my_missions")))
            items.append((_("Mes invitations"), reverse("army:invitations")))
        if rules.is_hq(user) or user.is_coordinator:  # type: ignore[union-attr]
            items.append((_("Missions"), reverse("army:missions_run")))
        if rules.is_hq(user):
            items.append((_("Invitations signalées"), reverse("army:invitation_reports")))
            items.append((_("Journal d'audit"), reverse("accounts:audit_log")))
        if rules.can_manage_api_tokens(user):
            items.append((_("Jetons d'API"), reverse("api_tokens:list")))
        if rules.is_hq_admin(user):
            items.append((_("Sécurité"), reverse("accounts:security")))
        if not user.is_volunteer:  # type: ignore[union-attr]
            items.append((_("Double authentification"), reverse("accounts:two_factor_settings")))
        if rules.can_read_devmail(user):
            items.append((_("Boîte de dev"), reverse("devmail:inbox")))
    return {"nav_items": items}
