"""Fixtures of the army's tests (the factories are in factories.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.fixture
def threadable_db(transactional_db: Any, tmp_path: Path) -> Iterator[None]:
    """A database threads can share. PostgreSQL is one; SQLite's in-memory test database locks
    whole tables without waiting, unlike the WAL file with a busy timeout Essaim runs on, so for
    SQLite the test runs on a migrated file."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    saved_name, saved_conn = connection.settings_dict["NAME"], connection.connection
    connection.connection = None
    connection.settings_dict["NAME"] = str(tmp_path / "threads.sqlite3")
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = saved_conn
