"""PostgreSQL connections of the sender's event loop, for the statements on its hot path (claims,
outcome flushes, heartbeats).

Why not the database threads: a thread needs the GIL back after every network wait of psycopg,
and while the event loop is busy sending it gets it only at the next forced switch; on the loop,
psycopg's waits are the loop's own readiness callbacks, with no hand-off. And these connections
keep psycopg's prepared statements (Django turns them off): the claim is a long statement,
costly to prepare at each run. The server still plans it at each run: its generic plan, forced
with plan_cache_mode, knows neither the campaign nor the limit and walked the primary key or
the unique (campaign, email_hash) index instead of the run's range, so custom plans stay (see
docs/benchmarks-history.md, fourth pass, "Tried and dropped").

SQLite keeps the threads: each of its statements there is one step, one release of the GIL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, TypeVar

import psycopg
from django.db import connection

from essaim.people.services.suppression import listener_conninfo

T = TypeVar("T")


def connection_params() -> str | None:
    """The libpq connection string of Django's default database (the one the LISTEN connection
    uses too), or None when it is not PostgreSQL. Call it from a thread where Django's
    connection may be used."""
    if connection.vendor != "postgresql":
        return None
    return listener_conninfo()


class LoopConnection:
    """One autocommit AsyncConnection, opened on first use and again after a failure. Each
    statement commits when it returns (claims must be committed before any byte is sent)."""

    def __init__(self, conninfo: str, *, synchronous_commit: bool = True) -> None:
        self._conninfo = conninfo
        self._synchronous_commit = synchronous_commit
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def run(
        self,
        fn: Callable[Concatenate[psycopg.AsyncConnection[Any], ...], Awaitable[T]],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        conn = self._conn
        if conn is None or conn.closed:
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=10
            )
            if not self._synchronous_commit:
                await conn.execute("SET synchronous_commit = off")
            self._conn = conn
        try:
            return await fn(conn, *args, **kwargs)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            # A dropped connection stays broken: open a new one at the next call.
            await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
