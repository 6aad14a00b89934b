"""Saved message templates: a campaign's content (subject, preview text, Markdown body) kept under
a name, to start new campaigns from (HQ, as campaigns: rules.can_manage_campaigns).

Like drafts, templates are content being written: their writes are not in the audit log (the
log holds what reaches people, and reads of the base). A template is checked as a draft is
(essaim.mailing.services.campaigns.check_content, no app links): one that saved can start a
campaign.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.mailing.models import Campaign, CampaignTemplate
from essaim.mailing.services.campaigns import InvalidCampaign, check_content

NAME_MAX = 200  # CampaignTemplate.name's max_length


def save_template(*, campaign: Campaign, name: str, user: Any) -> CampaignTemplate:
    """A new template with the campaign's content. InvalidCampaign: an empty or taken name
    (field "name"), or a message that only its own campaign may send (a call's `{{ call_url }}`)."""
    name = " ".join(name.split())
    if not name:
        raise InvalidCampaign(_("Donnez un nom au modèle."), field="name")
    if len(name) > NAME_MAX:
        raise InvalidCampaign(
            ngettext("Au plus %(n)s caractère.", "Au plus %(n)s caractères.", NAME_MAX)
            % {"n": NAME_MAX},
            field="name",
        )
    try:
        check_content(
            subject=campaign.subject,
            preheader=campaign.preheader,
            body_markdown=campaign.body_markdown,
        )
    except InvalidCampaign as exc:
        raise InvalidCampaign(
            _("Ce message ne peut pas servir de modèle : %(error)s") % {"error": exc.message}
        ) from exc
    if CampaignTemplate.objects.filter(name__iexact=name).exists():
        raise InvalidCampaign(_("Un modèle porte déjà ce nom."), field="name")
    try:
        with transaction.atomic():
            return CampaignTemplate.objects.create(
                name=name,
                subject=campaign.subject,
                preheader=campaign.preheader,
                body_markdown=campaign.body_markdown,
                created_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError as exc:  # the same name saved at the same moment
        raise InvalidCampaign(_("Un modèle porte déjà ce nom."), field="name") from exc


def delete_template(template: CampaignTemplate) -> None:
    """Campaigns started from it keep their text (they copied it)."""
    template.delete()
