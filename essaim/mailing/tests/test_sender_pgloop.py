"""The sender's PostgreSQL connections of the event loop (essaim.mailing.sender.pgloop)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection

from essaim.mailing.sender.pgloop import LoopConnection, connection_params
from essaim.mailing.tests.support import run_coroutine

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


async def _setting(conn: psycopg.AsyncConnection[Any]) -> str:
    cursor = await conn.execute("SHOW synchronous_commit")
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_only_the_outcome_connection_commits_without_waiting_for_the_wal() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the loop connections are PostgreSQL's")
    conninfo = connection_params()
    assert conninfo is not None

    async def both() -> tuple[str, str]:
        claims = LoopConnection(conninfo)
        outcomes = LoopConnection(conninfo, synchronous_commit=False)
        try:
            return await claims.run(_setting), await outcomes.run(_setting)
        finally:
            await claims.close()
            await outcomes.close()

    assert run_coroutine(both()) == ("on", "off")
