"""Spikes: a watchlist suddenly matching much more than usual. Run each quarter hour
(essaim.schedule.detect_watch_spikes).

The rule, per active watchlist, over the last hour: count the distinct stories and the distinct
sources among the items it matched, reprints left out (a dispatch copied forty times is one
voice). Compare the distinct sources with two baselines, the mean of the same hour in each of
the past four weeks and the hourly mean of the six hours before. A spike when

    sources ≥ SPIKE_MIN_SOURCES  and  sources ≥ SPIKE_FACTOR × max(both baselines, 1)

No storm: at most one spike alert per watchlist every SPIKE_QUIET; the alert groups the hour's
stories (the explanation lists them with their first sources and top terms).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from essaim.watch.models import Alert, Item, Watchlist
from essaim.watch.services import alerts

SPIKE_MIN_SOURCES = 3
SPIKE_FACTOR = 3.0
SPIKE_QUIET = dt.timedelta(hours=6)
HOUR = dt.timedelta(hours=1)
WEEKS = 4
RECENT_HOURS = 6
# Stories named in a spike's explanation.
STORIES_SHOWN = 10


def _window(watchlist_id: int, start: dt.datetime, end: dt.datetime) -> Any:
    return Item.objects.filter(
        watchlist_matches__watchlist_id=watchlist_id,
        is_reprint=False,
        seen_at__gte=start,
        seen_at__lt=end,
    )


def _counts(watchlist_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    row = _window(watchlist_id, start, end).aggregate(
        stories=Count("story_id", distinct=True), sources=Count("source_id", distinct=True)
    )
    return int(row["stories"]), int(row["sources"])


def measure(watchlist_id: int, now: dt.datetime) -> dict[str, Any]:
    """The last hour's counts and both baselines (distinct sources per hour)."""
    stories, sources = _counts(watchlist_id, now - HOUR, now)
    weekly = [
        _counts(watchlist_id, now - HOUR - dt.timedelta(weeks=w), now - dt.timedelta(weeks=w))[1]
        for w in range(1, WEEKS + 1)
    ]
    recent = _counts(watchlist_id, now - HOUR * (RECENT_HOURS + 1), now - HOUR)[1]
    return {
        "stories": stories,
        "sources": sources,
        "baseline_weeks": round(sum(weekly) / WEEKS, 2),
        "baseline_hours": round(recent / RECENT_HOURS, 2),
    }


def is_spike(counts: dict[str, Any]) -> bool:
    baseline = max(counts["baseline_weeks"], counts["baseline_hours"], 1.0)
    return bool(
        counts["sources"] >= SPIKE_MIN_SOURCES and counts["sources"] >= SPIKE_FACTOR * baseline
    )


def detect(now: dt.datetime | None = None) -> list[Alert]:
    """Raise a spike alert for each watchlist that spikes now and was quiet lately."""
    now = now or timezone.now()
    raised = []
    for watchlist_id in (
        Watchlist.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)
    ):
        # Measured without a lock (reads only); the lock is taken for a spike alone.
        if _raised_lately(watchlist_id, now):
            continue
        counts = measure(watchlist_id, now)
        if not is_spike(counts):
            continue
        alert = _raise(watchlist_id, counts, now)
        if alert is not None:
            raised.append(alert)
    return raised


def _raised_lately(watchlist_id: int, now: dt.datetime) -> bool:
    return Alert.objects.filter(
        watchlist_id=watchlist_id, kind=Alert.Kind.SPIKE, created_at__gt=now - SPIKE_QUIET
    ).exists()


def _raise(watchlist_id: int, counts: dict[str, Any], now: dt.datetime) -> Alert | None:
    """The spike alert and its deliveries, in one transaction, once per quiet period: the
    watchlist's row is locked and the quiet period checked again under the lock, so that a run
    overlapping this one (the schedule's next, another machine's) waits, then sees this alert.
    On SQLite the transaction is IMMEDIATE (settings): one writer at a time already."""
    with transaction.atomic():
        watchlist = (
            Watchlist.objects.select_for_update().filter(pk=watchlist_id, active=True).first()
        )
        if watchlist is None or _raised_lately(watchlist_id, now):
            return None
        story_ids = list(
            _window(watchlist_id, now - HOUR, now)
            .exclude(story_id=None)
            .values_list("story_id", flat=True)
            .distinct()
            .order_by("story_id")[:STORIES_SHOWN]
        )
        explanation = alerts.explain_stories(story_ids)
        explanation["counts"] = counts
        explanation["rule"] = {
            "min_sources": SPIKE_MIN_SOURCES,
            "factor": SPIKE_FACTOR,
            "quiet_hours": SPIKE_QUIET.total_seconds() / 3600,
        }
        alert = Alert.objects.create(
            kind=Alert.Kind.SPIKE,
            watchlist=watchlist,
            title=watchlist.name,
            explanation=explanation,
            created_at=now,
        )
        alerts.deliver(alert)
    return alert
