"""What the watch keeps for a while only: the sources' health history, for WATCH_HISTORY_DAYS
(a source polled every five minutes writes about a hundred thousand lines a year), and the raw
responses kept as evidence, for WATCH_EVIDENCE_DAYS (see prune_evidence)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from essaim.watch.models import Evidence, FetchLog, Item


def prune_history(*, days: int | None = None) -> int:
    """Delete the poll lines older than `days` (WATCH_HISTORY_DAYS); returns how many."""
    keep = settings.WATCH_HISTORY_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=keep)
    deleted, _by_model = FetchLog.objects.filter(at__lt=cutoff).delete()
    return deleted


# Evidence rows deleted per statement: each batch is two short statements, so that the job
# never holds a long lock on a table the watchers write to.
EVIDENCE_BATCH = 1000


def prune_evidence(*, days: int | None = None) -> int:
    """Delete the raw responses older than `days` (WATCH_EVIDENCE_DAYS) that no item fetched
    in that time points to; returns how many.

    Each poll that brings something new keeps the whole document (a feed of fifty entries for
    one new item), so evidence grows with the polls, not with the items. What is recent stays,
    and so does an older response still cited by a recent item (a watched page's item points to
    the version that last changed it). The items of the responses deleted keep their text and
    lose their raw copy (their `evidence` set to null first, in the same batch). Set-based:
    batches of ids chosen by one query each, never a query per row."""
    keep = settings.WATCH_EVIDENCE_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=keep)
    cited = Item.objects.filter(evidence=OuterRef("pk"), fetched_at__gte=cutoff)
    doomed = Evidence.objects.filter(fetched_at__lt=cutoff).exclude(Exists(cited))
    deleted = 0
    while True:
        ids = list(doomed.order_by("pk").values_list("pk", flat=True)[:EVIDENCE_BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            Item.objects.filter(evidence_id__in=ids).update(evidence=None)
            count, _by_model = Evidence.objects.filter(pk__in=ids).delete()
        deleted += count
