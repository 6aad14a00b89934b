"""The base's figures for the home page (its panel: essaim/people/dashboard.py).

Each figure is one GROUP BY over the base, whatever its size (a million contacts): the size, the
arrivals per day and source, the consents per purpose and status, the addresses that left the
mailable base per day and reason. `departements` limits a figure to a coordinator's zones (None:
the whole base, HQ's). Exits are counted on the suppression list, which keeps hashes and no zone:
they are HQ's figure only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from django.db.models import Count, QuerySet

from essaim.lib.timeseries import last_days, per_day
from essaim.people.models import Consent, Contact, Purpose, Suppression

DAYS_SHOWN: Final = 56  # eight weeks: the run-up to a vote
SOURCES_SHOWN: Final = 5  # the largest sources of the period; the others are summed
OTHERS: Final = "\x00others"  # not a source anyone can type (a NUL)


@dataclass(frozen=True)
class Growth:
    days: list[dt.date]
    sources: list[str]  # the largest first; OTHERS last when some were summed
    per_day: dict[str, list[int]]  # source → arrivals per day, aligned on `days`
    totals: dict[str, int]  # source → arrivals over the period


@dataclass(frozen=True)
class Exits:
    days: list[dt.date]
    per_day: dict[str, list[int]]  # Suppression.Reason → addresses per day, every reason
    totals: dict[str, int]


def _contacts(departements: Sequence[str] | None) -> QuerySet[Contact]:
    contacts = Contact.objects.all()
    if departements is not None:
        contacts = contacts.filter(departement__in=list(departements))
    return contacts


def _series(
    found: Mapping[tuple[dt.date, Hashable], int], days: list[dt.date], group: Hashable
) -> list[int]:
    return [found.get((day, group), 0) for day in days]


def base_size(departements: Sequence[str] | None) -> int:
    return _contacts(departements).count()


def growth(
    departements: Sequence[str] | None, *, days: int = DAYS_SHOWN, now: dt.datetime | None = None
) -> Growth:
    """New contacts per local day and source over the last `days` days (today included)."""
    shown, start = last_days(days, now=now)
    found = per_day(
        _contacts(departements).filter(created_at__gte=start), "created_at", by="source"
    )
    totals: dict[str, int] = {}
    for (_day, source), n in found.items():
        totals[str(source)] = totals.get(str(source), 0) + n
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    sources, rest = ranked[:SOURCES_SHOWN], ranked[SOURCES_SHOWN:]
    series = {source: _series(found, shown, source) for source in sources}
    result_totals = {source: totals[source] for source in sources}
    if rest:
        summed = [sum(_series(found, shown, source)[i] for source in rest) for i in range(days)]
        series[OTHERS], result_totals[OTHERS] = summed, sum(totals[s] for s in rest)
        sources.append(OTHERS)
    return Growth(shown, sources, series, result_totals)


def consents(departements: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Consents per purpose and status, every purpose and status present (zeros included)."""
    rows = Consent.objects.all()
    if departements is not None:
        rows = rows.filter(contact__departement__in=list(departements))
    counts = {
        (purpose, status): n
        for purpose, status, n in rows.order_by()
        .values_list("purpose", "status")
        .annotate(n=Count("*"))
        .values_list("purpose", "status", "n")
    }
    return {
        purpose: {status: counts.get((purpose, status), 0) for status in Consent.Status.values}
        for purpose in Purpose.values
    }


def exits(*, days: int = DAYS_SHOWN, now: dt.datetime | None = None) -> Exits:
    """Addresses put on the suppression list per local day and reason (unsubscribed, invalid,
    complained, erased…) over the last `days` days: the whole base, never a zone."""
    shown, start = last_days(days, now=now)
    found = per_day(Suppression.objects.filter(created_at__gte=start), "created_at", by="reason")
    series = {reason: _series(found, shown, reason) for reason in Suppression.Reason.values}
    return Exits(shown, series, {reason: sum(v) for reason, v in series.items()})
