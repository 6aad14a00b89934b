"""Campaign life: launch (freeze + start), pause, resume, cancel, counts.

The composer, approvals above the threshold, blackout windows and the command line come with
the UI; these are the transitions the sender relies on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.audience import freeze_audience
from essaim.people.models import Contact

S = Campaign.Status


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this."""


def _move(campaign: Campaign, *, allowed: set[str], to: str, **stamps: Any) -> None:
    now = timezone.now()
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(
        status=to, updated_at=now, **{k: now for k in stamps}
    )
    if not changed:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(f"campaign {campaign.pk} is {campaign.status}, not {allowed}")
    campaign.refresh_from_db()


def launch_campaign(
    campaign: Campaign, contacts: QuerySet[Contact], *, approved_by: Any = None
) -> int:
    """Freeze the audience into the ledger and hand the campaign to the senders (or schedule
    it when `scheduled_at` is in the future). Returns the audience."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.DRAFT:
            raise CampaignStateError(f"campaign {campaign.pk} is {locked.status}, not draft")
        count = freeze_audience(locked, contacts)
        now = timezone.now()
        later = locked.scheduled_at is not None and locked.scheduled_at > now
        locked.status = S.SCHEDULED if later else S.SENDING
        locked.started_at = None if later else now
        locked.approved_by = approved_by
        locked.updated_at = now
        locked.save(update_fields=["status", "started_at", "approved_by", "updated_at"])
    campaign.refresh_from_db()
    return count


def pause_campaign(campaign: Campaign) -> None:
    """Senders stop starting messages of this campaign within a poll interval (~0.25 s)."""
    _move(campaign, allowed={S.SENDING, S.SCHEDULED}, to=S.PAUSED, paused_at=True)


def resume_campaign(campaign: Campaign) -> None:
    _move(campaign, allowed={S.PAUSED}, to=S.SENDING)


def cancel_campaign(campaign: Campaign) -> int:
    """Stop for good: rows not yet sent become `cancelled` (claimed ones are settled by their
    senders, who see the status within a poll interval). Returns the rows cancelled here."""
    with transaction.atomic():
        _move(
            campaign,
            allowed={S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED},
            to=S.CANCELLED,
            cancelled_at=True,
        )
        return Delivery.objects.filter(
            campaign=campaign, status__in=[Delivery.Status.PENDING, Delivery.Status.DEFERRED]
        ).update(status=Delivery.Status.CANCELLED, last_change_at=timezone.now())


def delivery_counts(campaign: Campaign) -> dict[str, int]:
    """Rows per ledger state (every state present, zeros included)."""
    counts = Counter(
        dict(
            Delivery.objects.filter(campaign=campaign)
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
    )
    return {status: counts.get(status, 0) for status in Delivery.Status.values}
