"""The watcher claims as room frees up: a host that makes its sources wait (its gap between
requests) holds only its own sources, never the others claimed beside them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from essaim.watch.models import FetchLog, Source
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.tests.server import FeedServer

pytestmark = pytest.mark.django_db(transaction=True)

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title></channel></rss>'


@pytest.fixture
def servers(settings: Any) -> Iterator[dict[str, FeedServer]]:
    started = {host: FeedServer(host).start() for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    settings.FETCH_ALLOW_ADDRESSES = list(started)
    settings.FETCH_ALLOWED_PORTS = [server.port for server in started.values()]
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_a_host_that_makes_its_sources_wait_does_not_hold_the_others(
    servers: dict[str, FeedServer], settings: Any
) -> None:
    slow, other, third = servers.values()
    settings.WATCH_HOST_GAP = 1.5
    settings.WATCH_CLAIM_BATCH = 3
    settings.WATCH_CONCURRENCY = 2
    now = timezone.now()
    # The slow host's three sources are due first: the first claim takes them all.
    for n in range(3):
        slow.route(f"/{n}/", RSS, content_type="application/rss+xml")
        SourceFactory.create(
            url=slow.url(f"/{n}/"), next_poll_at=now - dt.timedelta(hours=1, seconds=n)
        )
    for server in (other, third):
        server.route("/feed/", RSS, content_type="application/rss+xml")
        SourceFactory.create(url=server.url("/feed/"), next_poll_at=now - dt.timedelta(minutes=1))
    out = StringIO()
    call_command("watcher", "--once", "--stats", stdout=out)
    assert json.loads(out.getvalue())["outcomes"] == {"ok": 5}
    # The slow host got its three requests one at a time, 1.5 s apart; the other hosts' sources
    # were claimed and fetched meanwhile, not after the slow host's last.
    slow_times = sorted(seen.at for seen in slow.requests)
    assert len(slow_times) == 3
    assert all(b - a >= 1.5 for a, b in itertools.pairwise(slow_times))
    assert max(seen.at for server in (other, third) for seen in server.requests) < slow_times[-1]
    assert FetchLog.objects.count() == 5
    assert Source.objects.exclude(claimed_by="").count() == 0


def _feed(host: str) -> bytes:
    entries = "".join(
        f"<item><title>Billet {n} de {host}</title><link>http://{host}/b/{n}/</link>"
        f"<description>Texte du billet {n} publié par {host}.</description></item>"
        for n in range(4)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{host}</title>{entries}'
        "</channel></rss>"
    ).encode()


def test_the_watcher_places_the_new_items_of_many_polls_at_once_and_all_before_it_stops(
    servers: dict[str, FeedServer], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from essaim.watch.models import Item
    from essaim.watch.watcher import engine

    settings.WATCH_HOST_GAP = 0
    monkeypatch.setattr(engine, "PLACE_AFTER_ITEMS", 10_000)
    monkeypatch.setattr(engine, "PLACE_AFTER_SECONDS", 3600.0)
    calls: list[list[int]] = []

    def placing(source_ids: list[int]) -> None:
        calls.append(list(source_ids))
        engine_place(source_ids)

    engine_place = engine.ingest_after_poll
    monkeypatch.setattr(engine, "ingest_after_poll", placing)
    ids = []
    for host, server in servers.items():
        server.route("/feed/", _feed(host), content_type="application/rss+xml")
        ids.append(SourceFactory.create(url=server.url("/feed/"), next_poll_at=timezone.now()).pk)
    call_command("watcher", "--once", stdout=StringIO())
    assert len(calls) == 1
    assert sorted(itertools.chain.from_iterable(calls)) == sorted(ids)
    assert Item.objects.count() == 12
    assert not Item.objects.filter(story__isnull=True).exists()
