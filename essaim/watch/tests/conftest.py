"""The watch's tests fetch from a real HTTP server on 127.0.0.1, which the guarded fetcher
refuses unless the test allows that address and port (FETCH_ALLOW_ADDRESSES, empty in
production)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# A database that other threads and processes share with the test (a file on SQLite), for the
# concurrent watchers: the mailing tests' fixture, which runs senders the same way.
from essaim.mailing.tests.fixtures import live_ledger, migrated_sqlite_template  # noqa: F401
from essaim.watch.tests.server import FeedServer


@pytest.fixture
def feed_server(settings: Any) -> Iterator[FeedServer]:
    server = FeedServer().start()
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    settings.FETCH_ALLOWED_PORTS = [server.port]
    settings.FETCH_CONNECT_TIMEOUT = 5.0
    settings.FETCH_READ_TIMEOUT = 5.0
    settings.FETCH_TOTAL_TIMEOUT = 10.0
    settings.WATCH_HOST_GAP = 0.0
    try:
        yield server
    finally:
        server.stop()
