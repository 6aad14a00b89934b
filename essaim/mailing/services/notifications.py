"""Mailing's notifications (essaim.accounts.services.notifications): a campaign waiting for
the approval of a second HQ member. Told to every active HQ member who may give it (not its
author, not who asked), and settled once it is approved, launched or cancelled."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Role, User
from essaim.accounts.services import notifications
from essaim.accounts.services.notifications import Target
from essaim.mailing.models import Campaign

CAMPAIGN_APPROVAL = "campaign_approval"
# The "Campagnes" entry of the menu counts them.
CAMPAIGN_KINDS = (CAMPAIGN_APPROVAL,)


def _campaigns(ids: Collection[int]) -> Mapping[int, Target]:
    rows = Campaign.objects.filter(pk__in=list(ids)).values_list("pk", "name")
    return {pk: Target(name, reverse("mailing:campaign_launch", args=[pk])) for pk, name in rows}


def register_kinds() -> None:
    """From MailingConfig.ready."""
    notifications.register_kind(
        CAMPAIGN_APPROVAL, sentence=_("Campagne à approuver : %(subject)s"), resolve=_campaigns
    )


def approval_requested(*, campaign_id: int, author_id: int | None, actor_id: int | None) -> int:
    """Returns how many were told."""
    approvers = User.objects.filter(is_active=True, role__in=[Role.HQ_ADMIN, Role.HQ_STAFF])
    if author_id is not None:
        approvers = approvers.exclude(pk=author_id)
    return notifications.notify(
        kind=CAMPAIGN_APPROVAL,
        object_id=campaign_id,
        recipients=approvers.values_list("pk", flat=True),
        actor_id=actor_id,
    )


def approval_settled(*, campaign_id: int) -> None:
    notifications.settle(kinds=CAMPAIGN_KINDS, object_id=campaign_id)
