"""Evidence is kept for WATCH_EVIDENCE_DAYS, and longer while a recent item cites it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from essaim.watch.models import Evidence, Item, Source
from essaim.watch.services.history import prune_evidence
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def evidence(source: Source, days_ago: int) -> Evidence:
    return Evidence.objects.create(
        source=source,
        url="https://blog.exemple.fr/feed/",
        fetched_at=timezone.now() - dt.timedelta(days=days_ago),
        http_status=200,
        size=3,
        sha256="0" * 64,
        warc=b"abc",
    )


def test_old_evidence_goes_unless_a_recent_item_cites_it() -> None:
    source = SourceFactory.create()
    recent = evidence(source, 5)
    old_cited_by_old = evidence(source, 100)
    old_cited_by_recent = evidence(source, 120)
    old_alone = evidence(source, 200)
    old_item = ItemFactory.create(
        source=source,
        evidence=old_cited_by_old,
        fetched_at=timezone.now() - dt.timedelta(days=100),
    )
    # A watched page's item, updated last week, still points to the version that changed it.
    page_item = ItemFactory.create(
        source=source, evidence=old_cited_by_recent, fetched_at=timezone.now()
    )
    ItemFactory.create(source=source, evidence=recent)

    assert prune_evidence(days=90) == 2
    assert set(Evidence.objects.values_list("pk", flat=True)) == {
        recent.pk,
        old_cited_by_recent.pk,
    }
    assert old_alone.pk not in set(Evidence.objects.values_list("pk", flat=True))
    # The old item keeps its text, without its raw copy.
    old_item.refresh_from_db()
    assert (old_item.evidence_id, old_item.title) == (None, Item.objects.get(pk=old_item.pk).title)
    page_item.refresh_from_db()
    assert page_item.evidence_id == old_cited_by_recent.pk
    assert prune_evidence(days=90) == 0


def test_pruning_goes_in_batches_and_counts_them_all(monkeypatch: pytest.MonkeyPatch) -> None:
    from essaim.watch.services import history

    monkeypatch.setattr(history, "EVIDENCE_BATCH", 2)
    source = SourceFactory.create()
    for _ in range(5):
        evidence(source, 400)
    kept = evidence(source, 1)
    assert prune_evidence(days=90) == 5
    assert list(Evidence.objects.values_list("pk", flat=True)) == [kept.pk]
