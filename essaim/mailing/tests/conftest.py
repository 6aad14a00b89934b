"""Fixtures of the mailing tests: real SMTP servers, a campaign the relay accepted, and a
database that a sender subprocess can share with the test (a SQLite file, or the PostgreSQL
test database). Factories are in factories.py, the other helpers in support.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from conftest import free_port
from essaim.mailing.models import Delivery
from essaim.mailing.tests.factories import CampaignFactory, accepted_campaign, make_audience
from essaim.mailing.tests.support import (
    ROOT,
    SMTP_SINK,
    LiveLedger,
    ScriptedServer,
    Sink,
    base_env,
    wait_port,
)

# Still imported from here by essaim/api/tests/test_schemathesis.py, until the API's tests move
# to their apps: new code uses CampaignFactory.
make_campaign = CampaignFactory.create


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


# --- A database the sender subprocess shares with the test ----------------------------------


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "essaim.manage", "migrate", "--noinput", "-v0"],
        env={**base_env(), "SQLITE_PATH": str(path)},
        check=True,
        cwd=ROOT,
    )
    return path


@pytest.fixture
def live_ledger(transactional_db: Any, tmp_path: Path, request: Any) -> Iterator[LiveLedger]:
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
        ledger = LiveLedger({**base_env(), "DATABASE_URL": url})
        try:
            yield ledger
        finally:
            ledger.stop_all()
        return
    # SQLite: the test database lives in memory, out of a subprocess's reach. Point this
    # connection at a migrated file for the test, then give the in-memory one back.
    template = request.getfixturevalue("_migrated_sqlite")
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(template, path)
    saved_name = connection.settings_dict["NAME"]
    saved_conn = connection.connection
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    ledger = LiveLedger({**base_env(), "SQLITE_PATH": str(path)})
    try:
        yield ledger
    finally:
        ledger.stop_all()
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = saved_conn
