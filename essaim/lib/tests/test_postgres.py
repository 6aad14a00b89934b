"""PostgreSQL connections of their own for long-running processes (essaim.lib.postgres)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from django.db import connection

from essaim.lib.postgres import Listener, LoopConnection, conninfo, postgres_conninfo

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def run_coroutine[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: a test thread may already run an event loop (once a
    browser test has started Playwright's sync API), where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=120)


def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("connections of one's own are PostgreSQL's")


async def _setting(conn: psycopg.AsyncConnection[Any]) -> str:
    cursor = await conn.execute("SHOW synchronous_commit")
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_postgres_conninfo_is_none_on_another_database() -> None:
    if connection.vendor == "postgresql":
        assert postgres_conninfo() == conninfo()
    else:
        assert postgres_conninfo() is None


def test_only_the_connection_without_synchronous_commit_turns_it_off() -> None:
    needs_postgres()
    info = postgres_conninfo()
    assert info is not None

    async def both() -> tuple[str, str]:
        claims = LoopConnection(info)
        outcomes = LoopConnection(info, synchronous_commit=False)
        try:
            return await claims.run(_setting), await outcomes.run(_setting)
        finally:
            await claims.close()
            await outcomes.close()

    assert run_coroutine(both()) == ("on", "off")


def test_a_loop_connection_opens_again_after_its_connection_dropped() -> None:
    needs_postgres()
    info = conninfo()

    async def pid(conn: psycopg.AsyncConnection[Any]) -> int:
        return int(conn.info.backend_pid)

    async def drop(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    async def scenario() -> tuple[int, int, type[BaseException] | None]:
        loop_conn = LoopConnection(info)
        failed: type[BaseException] | None = None
        try:
            first = await loop_conn.run(pid)
            try:
                await loop_conn.run(drop)
            except psycopg.OperationalError as exc:
                failed = type(exc)
            second = await loop_conn.run(pid)
            return first, second, failed
        finally:
            await loop_conn.close()

    first, second, failed = run_coroutine(scenario())
    assert failed is not None and issubclass(failed, psycopg.OperationalError)
    assert second != first


def test_a_listener_hears_its_channels_once_what_it_runs_on_listening_is_done() -> None:
    needs_postgres()
    info = conninfo()
    heard: list[tuple[str, str]] = []

    async def scenario() -> None:
        three = asyncio.Event()

        def on_notify(channel: str, payload: str) -> None:
            heard.append((channel, payload))
            if len(heard) == 3:
                three.set()

        async def on_listen() -> None:
            heard.append(("on_listen", str(listener.listening)))

        listener = Listener(["essaim_test_a", "essaim_test_b"], on_notify, on_listen=on_listen)
        task = asyncio.create_task(listener.run(info, stopping=lambda: False))
        async with await psycopg.AsyncConnection.connect(info, autocommit=True) as other:
            while not heard:
                await asyncio.sleep(0.01)
            for channel, payload in [
                ("essaim_test_a", "one"),
                ("essaim_test_other", "not ours"),
                ("essaim_test_b", "two"),
            ]:
                await other.execute("SELECT pg_notify(%s, %s)", [channel, payload])
            await asyncio.wait_for(three.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_coroutine(scenario())
    assert heard == [("on_listen", "True"), ("essaim_test_a", "one"), ("essaim_test_b", "two")]


def test_a_listener_tries_again_after_a_failed_connection_until_told_to_stop() -> None:
    needs_postgres()
    attempts: list[bool] = []

    def stopping() -> bool:
        attempts.append(True)
        return len(attempts) > 2

    listener = Listener(["essaim_test_a"], lambda channel, payload: None, retry=0.01)
    # A database that does not exist: each connection fails, and the loop goes on until told.
    bad = psycopg.conninfo.make_conninfo(conninfo(), dbname="essaim_no_such_database")
    run_coroutine(listener.run(bad, stopping=stopping))
    assert len(attempts) == 3
    assert listener.listening is False


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ([], "LISTEN needs at least one channel"),
        (["Essaim"], "'Essaim' is not a plain lower-case channel name"),
        (["a; DROP TABLE x"], "'a; DROP TABLE x' is not a plain lower-case channel name"),
        (["9lives"], "'9lives' is not a plain lower-case channel name"),
        (["a" * 64], f"'{'a' * 64}' is not a plain lower-case channel name"),
    ],
)
def test_a_listener_refuses_a_channel_it_would_have_to_quote(
    channels: list[str], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        Listener(channels, lambda channel, payload: None)
    assert str(raised.value) == message
