"""Fixtures of the mailing tests: real SMTP servers, a campaign the relay accepted, and a
database that a sender subprocess can share with the test (a SQLite file, or the PostgreSQL
test database). Factories are in factories.py, the other helpers in support.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from essaim.lib.testing import free_port
from essaim.mailing.models import Delivery
from essaim.mailing.tests.factories import accepted_campaign, make_audience

# The sender run on the test's own database, shared with the browser tests.
from essaim.mailing.tests.fixtures import live_ledger, migrated_sqlite_template  # noqa: F401
from essaim.mailing.tests.support import (
    SMTP_SINK,
    ScriptedServer,
    Sink,
    wait_port,
)


@pytest.fixture
def sent(transactional_db: Any) -> list[Delivery]:
    """A campaign whose three messages the relay accepted (the bounce and complaint tests)."""
    campaign = accepted_campaign(make_audience(3))
    return list(Delivery.objects.filter(campaign=campaign).order_by("pk"))


@pytest.fixture
def sink_factory() -> Iterator[Callable[..., Sink]]:
    sinks: list[Sink] = []
    # smtp-sink drops to `nobody` when started as root: its folder must be reachable by nobody,
    # which pytest's private tmp_path is not.
    base = Path(tempfile.mkdtemp(prefix="essaim-sink-"))
    base.chmod(0o777)

    def start(*options: str) -> Sink:
        folder = base / f"sink{len(sinks)}"
        folder.mkdir()
        folder.chmod(0o777)
        port = free_port()
        privileges = ["-u", "nobody"] if os.geteuid() == 0 else []
        proc = subprocess.Popen(
            [
                SMTP_SINK,
                *privileges,
                "-D",
                str(folder / "dump"),
                *options,
                f"127.0.0.1:{port}",
                "256",
            ]
        )
        sink = Sink(port, folder / "dump", proc)
        sinks.append(sink)
        wait_port(port)
        return sink

    yield start
    for sink in sinks:
        sink.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
