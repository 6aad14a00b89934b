"""The base's panel of the home page (registered in apps.py): who sees it and what it shows,
from the figures of services/dashboard.py. HQ sees the whole base; a coordinator the contacts of
their zones, without the exits (the suppression list keeps hashes and knows no zone); anyone
else nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from essaim.accounts.services.dashboard import cached_figures
from essaim.lib.charts import Chart, Series
from essaim.people import rules
from essaim.people.models import SOURCE_LABELS, Consent, ImportBatch, Purpose, Suppression
from essaim.people.services.dashboard import OTHERS, base_size, consents, exits, growth


def source_label(source: str) -> str:
    if source == OTHERS:
        return _("Autres sources")
    if not source:
        return _("Sans source")
    return str(SOURCE_LABELS.get(source, source))


def day_labels(days: list[dt.date]) -> list[str]:
    return [formats.date_format(day, "d/m") for day in days]


def zone_scope(user: Any) -> list[str] | None:
    """The départements whose figures the user sees, None for the whole base (HQ). Ask
    rules.can_view_contacts first: anyone else sees no figure of the base."""
    return None if rules.sees_contacts_unmasked(user) else list(user.zones or [])


# Exits shown apart; the other reasons (HQ's decisions, abuse reports) are summed.
EXIT_REASONS: Final = (
    (Suppression.Reason.UNSUBSCRIBE, "chart-5"),
    (Suppression.Reason.HARD_BOUNCE, "color-danger"),
    (Suppression.Reason.COMPLAINT, "chart-4"),
    (Suppression.Reason.ERASURE, "chart-6"),
)


def panel(user: Any) -> dict[str, Any] | None:
    """The base for HQ, the contacts of their zones for a coordinator, nothing for anyone else."""
    if not rules.can_view_contacts(user):
        return None
    scope = zone_scope(user)
    # At a million contacts these read a second of database time: kept a minute, per scope.
    key = "base:" + ("*" if scope is None else ",".join(sorted(scope)))
    size, grown, by_purpose, left = cached_figures(
        key,
        lambda: (
            base_size(scope),
            growth(scope),
            consents(scope),
            exits() if scope is None else None,
        ),
    )
    labels = day_labels(grown.days)
    context: dict[str, Any] = {
        "whole_base": scope is None,
        "size": size,
        "new": sum(grown.totals.values()),
        "days": len(grown.days),
        "sources": [(source_label(s), grown.totals[s]) for s in grown.sources],
        "growth_chart": Chart(
            id="base-growth",
            title=_("Nouveaux contacts par jour et par source"),
            kind="bar",
            labels=labels,
            series=[Series(source_label(s), grown.per_day[s]) for s in grown.sources],
            stacked=True,
            row_header=_("Jour"),
        ),
        "contacts_url": reverse("people:contact_list"),
    }
    purposes = dict(Purpose.choices)
    context["consent_chart"] = Chart(
        id="base-consents",
        title=_("Consentements par finalité"),
        kind="bar",
        labels=[str(purposes[p]) for p in by_purpose],
        series=[
            Series(str(label), [by_purpose[p][status] for p in by_purpose], color)
            for status, label, color in (
                (Consent.Status.GRANTED, Consent.Status.GRANTED.label, "color-success"),
                (Consent.Status.PENDING, Consent.Status.PENDING.label, "chart-5"),
                (Consent.Status.WITHDRAWN, Consent.Status.WITHDRAWN.label, "color-danger"),
            )
        ],
        stacked=True,
        horizontal=True,
        row_header=_("Finalité"),
    )
    if left is not None:
        reasons = dict(Suppression.Reason.choices)
        shown = [reason for reason, _color in EXIT_REASONS]
        rest = [left.per_day[r] for r in left.per_day if r not in shown]
        others = [sum(day) for day in zip(*rest, strict=True)]
        series = [Series(str(reasons[r]), left.per_day[r], color) for r, color in EXIT_REASONS]
        series.append(Series(_("Autres motifs"), others or [0] * len(left.days), "chart-2"))
        context["exits_chart"] = Chart(
            id="base-exits",
            title=_("Adresses sorties de la base joignable, par jour et par motif"),
            kind="bar",
            labels=day_labels(left.days),
            series=series,
            stacked=True,
            row_header=_("Jour"),
        )
        context["exits"] = [(s.label, sum(s.values)) for s in series]
        context["imports"] = list(
            ImportBatch.objects.order_by("-created_at", "-pk").only(
                "filename", "status", "created_at", "imported"
            )[:5]
        )
        context["imports_url"] = reverse("people:import_list")
    return context
