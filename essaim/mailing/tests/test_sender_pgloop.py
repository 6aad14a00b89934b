"""The sender's PostgreSQL connections of the event loop (essaim.mailing.sender.pgloop)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from django.db import connection

from essaim.mailing.sender.pgloop import LoopConnection, connection_params

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


async def _settings(conn: psycopg.AsyncConnection[Any]) -> tuple[str, ...]:
    names = ("synchronous_commit", "plan_cache_mode", "jit", "statement_timeout")
    values = []
    for name in names:
        cursor = await conn.execute(f"SHOW {name}")
        row = await cursor.fetchone()
        assert row is not None
        values.append(str(row[0]))
    return tuple(values)


def test_the_loop_connections_settings_and_the_deployments_own_options() -> None:
    """Only the outcome connection commits without waiting for the WAL; both keep generic plans
    without JIT (see pgloop), and the options of the deployment's conninfo."""
    if connection.vendor != "postgresql":
        pytest.skip("the loop connections are PostgreSQL's")
    conninfo = connection_params()
    assert conninfo is not None
    conninfo = make_conninfo(conninfo, options="-c statement_timeout=4321")

    async def both() -> tuple[tuple[str, ...], tuple[str, ...]]:
        claims = LoopConnection(conninfo)
        outcomes = LoopConnection(conninfo, synchronous_commit=False)
        try:
            return await claims.run(_settings), await outcomes.run(_settings)
        finally:
            await claims.close()
            await outcomes.close()

    assert asyncio.run(both()) == (
        ("on", "force_generic_plan", "off", "4321ms"),
        ("off", "force_generic_plan", "off", "4321ms"),
    )
