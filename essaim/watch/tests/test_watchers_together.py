"""Several `essaim watcher --once` processes on one database (SQLite file or PostgreSQL) and one
local server: every due source is polled exactly once, by one of them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.utils import timezone

from essaim.mailing.tests.support import ROOT, LiveLedger
from essaim.watch.models import FetchLog, Item, Source
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.tests.server import FeedServer

pytestmark = pytest.mark.django_db(transaction=True)

SOURCES = 40


def test_three_watchers_poll_every_source_once(
    live_ledger: LiveLedger, feed_server: FeedServer
) -> None:
    for n in range(SOURCES):
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog {n}</title>'
            f"<link>https://b{n}.exemple.fr/</link>"
            f"<item><title>Un</title><link>https://b{n}.exemple.fr/1</link></item>"
            f"<item><title>Deux</title><link>https://b{n}.exemple.fr/2</link></item>"
            "</channel></rss>"
        ).encode()
        feed_server.route(f"/feed/{n}/", body, content_type="application/rss+xml")
        SourceFactory.create(url=feed_server.url(f"/feed/{n}/"), next_poll_at=timezone.now())
    env = {
        **live_ledger.env,
        "FETCH_ALLOW_ADDRESSES": "127.0.0.1",
        "FETCH_ALLOWED_PORTS": str(feed_server.port),
        "WATCH_HOST_GAP": "0",
        "WATCH_CLAIM_BATCH": "3",
    }
    command = [sys.executable, "-m", "essaim.manage", "watcher", "--once", "--stats"]
    procs = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE) for _ in range(3)]
    stats = []
    for proc in procs:
        out, _err = proc.communicate(timeout=180)
        assert proc.returncode == 0
        stats.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert sum(s["polled"] for s in stats) == SOURCES
    assert sum(s["new_items"] for s in stats) == 2 * SOURCES
    assert {path: feed_server.hits(path) for path in feed_server.routes} == {
        f"/feed/{n}/": 1 for n in range(SOURCES)
    }
    assert FetchLog.objects.count() == SOURCES
    assert Item.objects.count() == 2 * SOURCES
    assert Source.objects.exclude(claimed_by="").count() == 0
