"""Several watchers placing copies of one dispatch at the same time, on one database (SQLite
file or PostgreSQL): one story, never two, and every item placed once. The race itself is too
narrow to hit on purpose from processes; the second test shows, deterministically, that a
placement waits for the one in progress (the shared lock) and then sees its story."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection, transaction

from essaim.mailing.tests.support import ROOT, LiveLedger
from essaim.watch.models import Item, ItemBand, Story
from essaim.watch.services import dedup
from essaim.watch.services.stories import ingest_items
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.test_stories import DISPATCH

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 3
PER_PROCESS = 12


def test_three_processes_placing_copies_of_one_dispatch_make_one_story(
    live_ledger: LiveLedger,
) -> None:
    ids = [
        ItemFactory.create(
            source=SourceFactory.create(), title="Dotations en baisse", summary=DISPATCH
        ).pk
        for _ in range(PROCESSES * PER_PROCESS)
    ]
    command = [sys.executable, "-m", "essaim.manage", "stories", "--ids"]
    # Each process gets every third item, so that all of them start at once on the same text.
    procs = [
        subprocess.Popen(
            [*command, ",".join(str(pk) for pk in ids[k::PROCESSES])],
            env=live_ledger.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        for k in range(PROCESSES)
    ]
    for proc in procs:
        out, _err = proc.communicate(timeout=180)
        assert proc.returncode == 0
        assert json.loads(out.decode().strip().splitlines()[-1]) == {"placed": PER_PROCESS}
    story = Story.objects.get()
    assert (story.items_count, story.sources_count) == (len(ids), len(ids))
    assert Item.objects.filter(story=story, ingested_at__isnull=False).count() == len(ids)
    assert ItemBand.objects.count() == len(ids) * dedup.BANDS


def test_an_ingest_waits_for_the_one_in_progress_and_then_joins_its_story() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite: every IMMEDIATE transaction takes the write lock; one writer at once")
    first, second = (
        ItemFactory.create(source=SourceFactory.create(), title="Dotations", summary=DISPATCH)
        for _ in range(2)
    )
    done: list[dict[int, int]] = []

    def other_watcher() -> None:
        try:
            done.append(ingest_items([second.pk]))
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=other_watcher)
    with transaction.atomic():
        # This watcher has placed the first copy and not committed yet.
        ingest_items([first.pk])
        thread.start()
        # Deterministic, not timed: wait until the other one is seen waiting on the lock.
        with connection.cursor() as cursor:
            for _ in range(600):
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                if cursor.fetchone()[0] == 1:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second ingest did not wait for the first")
        assert done == []
    thread.join(60)
    story = Story.objects.get()
    assert done == [{second.pk: story.pk}]
    assert story.items_count == 2
