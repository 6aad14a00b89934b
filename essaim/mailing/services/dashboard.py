"""The campaigns' figures for the home page (its panel: essaim/mailing/dashboard.py): the
campaigns being sent (or about to be) with their progress, and the results of the last ones
sent. A fixed number of queries whatever the number of campaigns shown and the size of their
ledgers (the same GROUP BY as the campaign page, over several campaigns at once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.db.models import F

from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.progress import OPEN_STATES, results_of, states_of

S = Campaign.Status
D = Delivery.Status
SHOWN: Final = 5
IN_PROGRESS: Final = (S.SENDING, S.PAUSED, S.SCHEDULED)


@dataclass(frozen=True)
class Running:
    campaign: Campaign
    total: int
    settled: int  # rows whose fate is final
    percent: int


@dataclass(frozen=True)
class Result:
    campaign: Campaign
    sent: int  # rows frozen into the ledger, but those cancelled
    results: dict[str, int]  # campaign_results' keys

    @property
    def errors(self) -> int:
        return self.results["rejected"] + self.results["bounced"]


def running(*, limit: int = SHOWN) -> list[Running]:
    """The campaigns being sent, paused or scheduled, the next to finish first."""
    campaigns = list(
        Campaign.objects.filter(status__in=IN_PROGRESS)
        .order_by(F("started_at").asc(nulls_last=True), F("scheduled_at").asc(nulls_last=True))
        .only("name", "status", "started_at", "scheduled_at")[:limit]
    )
    states = states_of([c.pk for c in campaigns])
    shown = []
    for campaign in campaigns:
        counts = states[campaign.pk]
        total = sum(counts.values())
        settled = total - sum(counts[s] for s in OPEN_STATES)
        shown.append(
            Running(campaign, total, settled, 100 if not total else settled * 100 // total)
        )
    return shown


def last_results(*, limit: int = SHOWN) -> list[Result]:
    """The last campaigns sent to the end, the latest first, with what became of their mail."""
    campaigns = list(
        Campaign.objects.filter(status=S.DONE)
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")
        .only("name", "status", "started_at", "frozen_at", "created_at", "finished_at")[:limit]
    )
    states = states_of([c.pk for c in campaigns])
    results = results_of(campaigns)
    return [
        Result(c, sum(states[c.pk].values()) - states[c.pk][D.CANCELLED], results[c.pk])
        for c in campaigns
    ]
