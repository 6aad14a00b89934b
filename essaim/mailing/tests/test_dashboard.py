"""The campaigns' panel of the home page (mailing.services.dashboard): the campaigns in progress
with their progress, the last results as the campaign page counts them, in a fixed number of
queries whatever the number of campaigns and the size of their ledgers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from essaim.mailing import dashboard as panels
from essaim.mailing.models import BounceReport, Campaign, Delivery
from essaim.mailing.services import dashboard
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.services.progress import campaign_results
from essaim.mailing.tests.factories import CampaignFactory, make_audience
from essaim.people.models import Contact, Suppression

pytestmark = pytest.mark.django_db

S = Campaign.Status
D = Delivery.Status


def campaign_with(name: str, states: list[str], *, prefix: str, **fields: Any) -> Campaign:
    """A campaign frozen to one new contact per state, each ledger row then set to its state."""
    contacts = make_audience(len(states), prefix=prefix)
    campaign = CampaignFactory.create(name=name, **fields)
    freeze_audience(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("pk"))
    for row, state in zip(rows, states, strict=True):
        Delivery.objects.filter(pk=row.pk).update(status=state)
    return campaign


def test_campaigns_in_progress_show_how_much_of_their_ledger_is_settled() -> None:
    now = timezone.now()
    sending = campaign_with(
        "En cours",
        [D.ACCEPTED, D.BOUNCED, D.PENDING, D.DEFERRED],
        prefix="a",
        status=S.SENDING,
        started_at=now - dt.timedelta(hours=1),
    )
    scheduled = campaign_with(
        "Demain",
        [D.PENDING],
        prefix="b",
        status=S.SCHEDULED,
        scheduled_at=now + dt.timedelta(days=1),
    )
    campaign_with("Finie", [D.ACCEPTED], prefix="c", status=S.DONE, finished_at=now)
    CampaignFactory.create(name="Brouillon")

    shown = dashboard.running()

    assert [(r.campaign.pk, r.total, r.settled, r.percent) for r in shown] == [
        (sending.pk, 4, 2, 50),
        (scheduled.pk, 1, 0, 0),
    ]


def test_last_results_are_the_campaign_pages_results_latest_first() -> None:
    now = timezone.now()
    older = campaign_with(
        "Ancienne",
        [D.ACCEPTED, D.ACCEPTED, D.REJECTED, D.COMPLAINED],
        prefix="d",
        status=S.DONE,
        started_at=now - dt.timedelta(days=3),
        finished_at=now - dt.timedelta(days=2),
    )
    latest = campaign_with(
        "Récente",
        [D.ACCEPTED, D.ACCEPTED, D.BOUNCED, D.SUPPRESSED, D.UNKNOWN, D.CANCELLED],
        prefix="e",
        status=S.DONE,
        started_at=now - dt.timedelta(days=1),
        finished_at=now - dt.timedelta(hours=20),
    )
    # One reader of the latest left after it started: an unsubscribe of that campaign.
    accepted = Delivery.objects.filter(campaign=latest, status=D.ACCEPTED).first()
    assert accepted is not None
    Suppression.objects.create(email_hash=accepted.email_hash, reason="unsubscribe")
    BounceReport.objects.create(campaign=latest, fingerprint="f1", kind="soft_bounce")

    results = dashboard.last_results()

    assert [r.campaign.pk for r in results] == [latest.pk, older.pk]
    assert [(r.sent, r.errors) for r in results] == [(5, 1), (4, 1)]
    assert results[0].results == {
        "accepted": 2,
        "rejected": 0,
        "bounced": 1,
        "complained": 0,
        "unsubscribed": 2,
        "unknown": 1,
        "soft_bounces": 1,
        "unparsed_reports": 0,
    }
    assert [r.results for r in results] == [campaign_results(latest), campaign_results(older)]


def test_the_panel_reads_a_fixed_number_of_queries_whatever_the_campaigns(
    hq: Any, django_assert_num_queries: Any
) -> None:
    now = timezone.now()

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            panels.panel(hq)
        return len(captured)

    campaign_with("Une", [D.ACCEPTED], prefix="f", status=S.DONE, finished_at=now)
    campaign_with("En cours", [D.PENDING], prefix="g", status=S.SENDING, started_at=now)
    few = queries()
    for i in range(4):
        campaign_with(
            f"Autre {i}", [D.ACCEPTED] * 3, prefix=f"h{i}-", status=S.DONE, finished_at=now
        )
        campaign_with(
            f"Envoi {i}", [D.PENDING] * 2, prefix=f"i{i}-", status=S.SENDING, started_at=now
        )
    assert queries() == few


def test_only_those_who_run_campaigns_get_the_panel(
    hq: Any, coordinator: Any, volunteer: Any
) -> None:
    panel = panels.panel(hq)
    assert panel is not None
    assert (panel["running"], panel["results"], panel["results_chart"]) == ([], [], None)
    assert panels.panel(coordinator) is None
    assert panels.panel(volunteer) is None
