"""A campaign's counts, progress and results, read from its ledger rows and its bounce reports.
Reads only: the campaign page, the API and `essaim campaign status` show them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, OuterRef, Q, Value, When

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


def campaign_results(campaign: Campaign) -> dict[str, int]:
    """What became of the campaign's messages: accepted by the relay (and not reported back
    since), rejected by it (a 5.1.x there also suppressed the address), bounced (accepted, then
    reported back as a hard bounce), complained about, unsubscribed (suppressed during the send,
    or unsubscribed since it started), unknown; and the soft bounces and unreadable reports
    received by the bounce intake. All but `unsubscribed` read the ledger only, so an erasure,
    which blanks addresses but keeps rows, changes none of them."""
    counts = delivery_counts(campaign)
    rows = Delivery.objects.filter(campaign=campaign)
    since = campaign.started_at or campaign.frozen_at or campaign.created_at
    unsubscribed = rows.filter(
        Q(status=D.SUPPRESSED)
        | Exists(
            Suppression.objects.filter(
                email_hash=OuterRef("email_hash"),
                reason=Suppression.Reason.UNSUBSCRIBE,
                created_at__gte=since,
            )
        )
    ).count()
    reports = Counter(
        dict(
            BounceReport.objects.filter(campaign=campaign)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        )
    )
    return {
        "accepted": counts[D.ACCEPTED],
        "rejected": counts[D.REJECTED],
        "bounced": counts[D.BOUNCED],
        "complained": counts[D.COMPLAINED],
        "unsubscribed": unsubscribed,
        "unknown": counts[D.UNKNOWN],
        "soft_bounces": reports[BounceReport.Kind.SOFT_BOUNCE],
        "unparsed_reports": reports[BounceReport.Kind.UNPARSED],
    }
