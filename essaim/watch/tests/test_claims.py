"""The watchers' claims on sources, on SQLite and on PostgreSQL (whichever DATABASE_URL names):
due sources only, each to one watcher, a dead watcher's sources back after its lease, and an
outcome recorded only by the watcher that still holds the claim."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from essaim.watch.models import FetchLog, Item, Source
from essaim.watch.services.feeds import ParsedItem
from essaim.watch.services.polling import Limits, Outcome
from essaim.watch.services.sources import disable_source
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.watcher.claims import claim, record

pytestmark = pytest.mark.django_db(transaction=True)

LIMITS = Limits(
    max_bytes=1_000_000, max_items=500, min_interval=300, max_interval=86400, disable_after=5
)


def item(n: int) -> ParsedItem:
    return ParsedItem(
        key=f"https://blog.exemple.fr/{n}",
        url=f"https://blog.exemple.fr/{n}/",
        guid="",
        title=f"Billet {n}",
        summary="",
        author="",
        published_at=None,
        language="fr",
        content_hash=str(n),
    )


def test_a_claim_takes_due_sources_oldest_first_and_leases_them() -> None:
    now = timezone.now()
    old = SourceFactory.create(next_poll_at=now - dt.timedelta(hours=2))
    recent = SourceFactory.create(next_poll_at=now - dt.timedelta(minutes=1), status="failing")
    SourceFactory.create(next_poll_at=now + dt.timedelta(minutes=5))  # not due
    SourceFactory.create(next_poll_at=now - dt.timedelta(hours=3), status="disabled")
    SourceFactory.create(
        next_poll_at=now - dt.timedelta(hours=5),
        claimed_by="autre:1:aa",
        lease_until=now + dt.timedelta(minutes=3),
    )  # another watcher holds it
    taken = claim(watcher_id="w1", limit=1, lease_seconds=300, now=now)
    assert [c.id for c in taken] == [old.pk]
    taken = claim(watcher_id="w1", limit=10, lease_seconds=300, now=now)
    assert [(c.id, c.status) for c in taken] == [(recent.pk, "failing")]
    assert claim(watcher_id="w2", limit=10, lease_seconds=300, now=now) == []
    old.refresh_from_db()
    assert (old.claimed_by, old.lease_until) == ("w1", now + dt.timedelta(seconds=300))


def test_a_dead_watchers_sources_come_back_when_its_lease_runs_out() -> None:
    now = timezone.now()
    source = SourceFactory.create(next_poll_at=now - dt.timedelta(minutes=1))
    [dead] = claim(watcher_id="dead", limit=10, lease_seconds=60, now=now)
    soon = now + dt.timedelta(seconds=59)
    assert claim(watcher_id="alive", limit=10, lease_seconds=60, now=soon) == []
    later = now + dt.timedelta(seconds=61)
    assert [c.id for c in claim(watcher_id="alive", limit=10, lease_seconds=60, now=later)] == [
        source.pk
    ]
    # The first watcher, back to life, records nothing over the new holder's claim.
    outcome = Outcome("ok", later, http_status=200, items=[item(1)])
    assert record(dead, outcome, watcher_id="dead", limits=LIMITS) is None
    assert Source.objects.get(pk=source.pk).claimed_by == "alive"
    assert Item.objects.count() == 0


def test_an_outcome_is_recorded_only_under_a_live_claim() -> None:
    source = SourceFactory.create(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    outcome = Outcome("ok", timezone.now(), http_status=200, items=[item(1), item(2)])
    # Another watcher (or one whose lease ran out) writes nothing.
    assert record(held, outcome, watcher_id="w2", limits=LIMITS) is None
    assert (Item.objects.count(), FetchLog.objects.count()) == (0, 0)
    assert record(held, outcome, watcher_id="w1", limits=LIMITS) == 2
    source.refresh_from_db()
    assert (source.claimed_by, source.lease_until, source.items_count) == ("", None, 2)
    # The claim is released: recording again is refused.
    assert record(held, outcome, watcher_id="w1", limits=LIMITS) is None
    assert Item.objects.count() == 2


def test_a_source_disabled_while_it_is_fetched_stays_disabled() -> None:
    source = SourceFactory.create(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    disable_source(source)
    outcome = Outcome("ok", timezone.now(), http_status=200, items=[item(1)])
    assert record(held, outcome, watcher_id="w1", limits=LIMITS) is None
    source.refresh_from_db()
    assert (source.status, source.last_error, Item.objects.count()) == (
        "disabled",
        "disabled_by_hq",
        0,
    )


def test_items_already_stored_are_not_stored_twice() -> None:
    SourceFactory.create(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    assert (
        record(
            held,
            Outcome("ok", timezone.now(), items=[item(1), item(2)]),
            watcher_id="w1",
            limits=LIMITS,
        )
        == 2
    )
    Source.objects.update(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    assert (
        record(
            held,
            Outcome("ok", timezone.now(), items=[item(2), item(3)]),
            watcher_id="w1",
            limits=LIMITS,
        )
        == 1
    )
    assert sorted(Item.objects.values_list("title", flat=True)) == [
        "Billet 1",
        "Billet 2",
        "Billet 3",
    ]
    assert Source.objects.get().items_count == 3


def test_concurrent_watchers_never_take_the_same_source(live_ledger: object) -> None:
    """Four threads with a connection each (on SQLite a file: the in-memory test database's
    shared cache locks whole tables instead of waiting)."""
    SourceFactory.create_batch(120, next_poll_at=timezone.now() - dt.timedelta(minutes=1))
    taken: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def watcher(name: str) -> None:
        try:
            while True:
                batch = claim(watcher_id=name, limit=7, lease_seconds=300)
                if not batch:
                    return
                with lock:
                    taken.update(c.id for c in batch)
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=watcher, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(taken) == 120
    assert set(taken.values()) == {1}
    assert Source.objects.filter(claimed_by="").count() == 0
