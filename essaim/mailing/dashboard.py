"""The campaigns' panel of the home page (registered in apps.py), from the figures of
services/dashboard.py: HQ's, whoever runs campaigns."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from essaim.accounts.services.dashboard import cached_figures
from essaim.lib.charts import Chart, Series
from essaim.mailing import rules
from essaim.mailing.services.dashboard import last_results, running


def panel(user: Any) -> dict[str, Any] | None:
    """HQ's: whoever runs campaigns."""
    if not rules.can_manage_campaigns(user):
        return None
    # What became of the last campaigns' mail reads their whole ledgers: kept a minute.
    done = cached_figures("campaigns:results", last_results)
    # Oldest first, as time goes on a chart.
    chronological = list(reversed(done))
    chart = Chart(
        id="campaign-results",
        title=_("Ce que sont devenus les messages des dernières campagnes"),
        kind="bar",
        labels=[r.campaign.name for r in chronological],
        series=[
            Series(_("Acceptés"), [r.results["accepted"] for r in chronological], "color-success"),
            Series(_("En erreur"), [r.errors for r in chronological], "color-danger"),
            Series(_("Plaintes"), [r.results["complained"] for r in chronological], "chart-4"),
            Series(_("Sort inconnu"), [r.results["unknown"] for r in chronological], "chart-6"),
        ],
        stacked=True,
        horizontal=True,
        row_header=_("Campagne"),
    )
    return {
        "running": running(),
        "results": done,
        "results_chart": chart if done else None,
        "campaigns_url": reverse("mailing:campaign_list"),
    }
