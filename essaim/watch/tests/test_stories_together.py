"""Several processes placing copies of one dispatch at the same time, on one database (SQLite
file or PostgreSQL): one story, never two, and every item placed once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from essaim.mailing.tests.support import ROOT, LiveLedger
from essaim.watch.models import Item, ItemBand, Story
from essaim.watch.services import dedup
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
