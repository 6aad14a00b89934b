"""PostgreSQL connections of their own for long-running processes (the bulk sender): the libpq
connection string of Django's default database, autocommit connections of an asyncio event
loop, and a LISTEN loop.

Why connections of the event loop rather than Django's in a thread: a thread needs the GIL back
after every network wait of psycopg, and while the event loop is busy it gets it only at the
next forced switch; on the loop, psycopg's waits are the loop's own readiness callbacks. These
connections also keep psycopg's prepared statements, which Django turns off: long statements
run often are not prepared again at each run. SQLite keeps the threads: each of its statements
there is one step, one release of the GIL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Concatenate, TypeVar

import psycopg
from django.db import connection

T = TypeVar("T")
# A channel is written into LISTEN as it is: a plain lower-case identifier, never quoted.
CHANNEL_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def conninfo() -> str:
    """A libpq connection string to Django's default database, for a connection of one's own.
    Call it where Django's connection may be used (its settings only are read)."""
    from psycopg.conninfo import make_conninfo

    s = connection.settings_dict
    params = {
        "dbname": s["NAME"],
        "user": s["USER"],
        "password": s["PASSWORD"],
        "host": s["HOST"],
        "port": str(s["PORT"] or ""),
    }
    options = {k: v for k, v in (s.get("OPTIONS") or {}).items() if k in {"sslmode", "options"}}
    return make_conninfo(**{k: v for k, v in params.items() if v}, **options)


def postgres_conninfo() -> str | None:
    """conninfo(), or None when the default database is not PostgreSQL."""
    if connection.vendor != "postgresql":
        return None
    return conninfo()


class LoopConnection:
    """One autocommit AsyncConnection, opened on first use and again after a failure. Each
    statement commits when it returns."""

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


class Listener:
    """LISTEN on `channels`, on a connection of its own, connected again `retry` seconds after
    a failure. Each notification is handed to `on_notify(channel, payload)`; `on_listen` runs
    once the LISTEN holds, at each (re)connection, so that its owner can read what was
    committed before. `listening` tells whether notifications are being heard now."""

    def __init__(
        self,
        channels: Sequence[str],
        on_notify: Callable[[str, str], None],
        *,
        on_listen: Callable[[], Awaitable[None]] | None = None,
        retry: float = 2.0,
        logger: logging.Logger | None = None,
        failure: str = "LISTEN failed",
    ) -> None:
        if not channels:
            raise ValueError("LISTEN needs at least one channel")
        for channel in channels:
            if not CHANNEL_NAME.fullmatch(channel):
                raise ValueError(f"{channel!r} is not a plain lower-case channel name")
        self.channels = tuple(channels)
        self.listening = False
        self._on_notify = on_notify
        self._on_listen = on_listen
        self._retry = retry
        self._log = logger or logging.getLogger(__name__)
        self._failure = failure

    async def run(self, conninfo: str, *, stopping: Callable[[], bool]) -> None:
        """Listen until `stopping()` holds when a connection ends, or until cancelled."""
        while not stopping():
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True, connect_timeout=10
                ) as conn:
                    for channel in self.channels:
                        await conn.execute(f"LISTEN {channel}")
                    self.listening = True
                    if self._on_listen is not None:
                        await self._on_listen()
                    async for note in conn.notifies():
                        self._on_notify(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("%s", self._failure)
            self.listening = False
            await asyncio.sleep(self._retry)
