"""The sources' health history kept for WATCH_HISTORY_DAYS: a source polled every five
minutes writes about a hundred thousand lines a year."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from essaim.watch.models import FetchLog


def prune_history(*, days: int | None = None) -> int:
    """Delete the poll lines older than `days` (WATCH_HISTORY_DAYS); returns how many."""
    keep = settings.WATCH_HISTORY_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=keep)
    deleted, _by_model = FetchLog.objects.filter(at__lt=cutoff).delete()
    return deleted
