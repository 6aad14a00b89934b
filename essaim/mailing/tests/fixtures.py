"""Fixtures that run the sender in a subprocess on the test's own database, for mailing's tests
and the browser journeys (imported by their conftests)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from essaim.mailing.tests.support import ROOT, LiveLedger, base_env

# --- A database the sender subprocess shares with the test ----------------------------------


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    template = request.getfixturevalue("migrated_sqlite_template")
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
