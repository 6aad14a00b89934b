"""A campaign's counts, progress and results, read from its ledger rows and its bounce reports.
Reads only: the campaign page, the API and `essaim campaign status` show them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce

from essaim.mailing.models import BounceReport, Campaign, Delivery, DeliveryClaim
from essaim.people.models import Suppression

D = Delivery.Status
# Rows still to be sent; the rest are settled for good.
OPEN_STATES = (D.PENDING, D.CLAIMED, D.DEFERRED)


def held_by_claims(campaign: Campaign) -> Q | None:
    """The campaign's rows held by a live claim without being written (`pending`: see Delivery),
    or None when no claim is live."""
    return DeliveryClaim.held_rows(
        DeliveryClaim.objects.filter(campaign=campaign, ended_at=None).values_list(
            "campaign_id", "first_id", "last_id"
        )
    )


def _state(campaign: Campaign) -> F | Case:
    """A row's state for the counts: rows held by a claim count as `claimed`, in the same
    statement as the rest (one snapshot: no row counted twice or not at all)."""
    held = held_by_claims(campaign)
    return (
        F("status") if held is None else Case(When(held, then=Value(D.CLAIMED)), default="status")
    )


def delivery_counts(campaign: Campaign) -> dict[str, int]:
    """Rows per ledger state (every state present, zeros included)."""
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .order_by()
        .values_list(_state(campaign))
        .annotate(n=Count("id"))
    )
    counts = Counter(dict(rows))
    return {status: counts.get(status, 0) for status in D.values}


def provider_counts(campaign: Campaign) -> dict[str, dict[str, int]]:
    """Rows per provider group and state (groups present only)."""
    table: dict[str, dict[str, int]] = {}
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .order_by()
        .values_list("provider", _state(campaign))
        .annotate(n=Count("id"))
    )
    for provider, status, n in rows:
        table.setdefault(provider, dict.fromkeys(D.values, 0))[status] = n
    return dict(sorted(table.items()))


@dataclass(frozen=True)
class Progress:
    total: int
    settled: int  # rows whose fate is final (not pending, claimed, deferred)
    percent: int
    rate: float | None  # settled rows per second since the previous reading
    seconds_left: int | None
    counts: dict[str, int]


def campaign_progress(
    campaign: Campaign,
    counts: dict[str, int],
    *,
    previous: tuple[int, float] | None = None,
    now: float,
) -> Progress:
    """Progress from the ledger counts; the rate comes from the previous reading (settled,
    timestamp) that the page carries in its polling URL, so no reading is stored anywhere."""
    total = sum(counts.values())
    settled = total - sum(counts[s] for s in OPEN_STATES)
    percent = 100 if total == 0 else int(settled * 100 / total)
    rate: float | None = None
    seconds_left: int | None = None
    if previous is not None and now > previous[1] and settled >= previous[0]:
        rate = (settled - previous[0]) / (now - previous[1])
        if rate > 0:
            seconds_left = int((total - settled) / rate)
    return Progress(total, settled, percent, rate, seconds_left, counts)


def states_of(campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Rows per ledger state of several campaigns in one GROUP BY (every state present, zeros
    included). Rows held by a claim count as `pending` here, not `claimed` as in
    delivery_counts: both are still to be sent."""
    rows = (
        Delivery.objects.filter(campaign_id__in=list(campaign_ids))
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
        .values_list("campaign_id", "status", "n")
    )
    table = {pk: dict.fromkeys(D.values, 0) for pk in campaign_ids}
    for pk, status, n in rows:
        table[pk][status] = n
    return table


def campaign_results(campaign: Campaign) -> dict[str, int]:
    """What became of the campaign's messages: accepted by the relay (and not reported back
    since), rejected by it (a 5.1.x there also suppressed the address), bounced (accepted, then
    reported back as a hard bounce), complained about, unsubscribed (suppressed during the send,
    or unsubscribed since it started), unknown; and the soft bounces and unreadable reports
    received by the bounce intake. All but `unsubscribed` read the ledger only, so an erasure,
    which blanks addresses but keeps rows, changes none of them."""
    return results_of([campaign])[campaign.pk]


def results_of(campaigns: Sequence[Campaign]) -> dict[int, dict[str, int]]:
    """campaign_results of several campaigns (the home page's last results), in three queries
    whatever their number and size."""
    ids = [campaign.pk for campaign in campaigns]
    if not ids:
        return {}
    states = states_of(ids)
    # Since the campaign started (or was frozen, or written): its own unsubscribes.
    since = Coalesce(
        OuterRef("campaign__started_at"),
        OuterRef("campaign__frozen_at"),
        OuterRef("campaign__created_at"),
    )
    unsubscribed = dict(
        Delivery.objects.filter(campaign_id__in=ids)
        .filter(
            Q(status=D.SUPPRESSED)
            | Exists(
                Suppression.objects.filter(
                    email_hash=OuterRef("email_hash"),
                    reason=Suppression.Reason.UNSUBSCRIBE,
                    created_at__gte=since,
                )
            )
        )
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("id"))
        .values_list("campaign_id", "n")
    )
    reports = Counter(
        {
            (pk, kind): n
            for pk, kind, n in BounceReport.objects.filter(campaign_id__in=ids)
            .order_by()
            .values_list("campaign_id", "kind")
            .annotate(n=Count("id"))
            .values_list("campaign_id", "kind", "n")
        }
    )
    return {
        pk: {
            "accepted": states[pk][D.ACCEPTED],
            "rejected": states[pk][D.REJECTED],
            "bounced": states[pk][D.BOUNCED],
            "complained": states[pk][D.COMPLAINED],
            "unsubscribed": unsubscribed.get(pk, 0),
            "unknown": states[pk][D.UNKNOWN],
            "soft_bounces": reports[(pk, BounceReport.Kind.SOFT_BOUNCE)],
            "unparsed_reports": reports[(pk, BounceReport.Kind.UNPARSED)],
        }
        for pk in ids
    }
