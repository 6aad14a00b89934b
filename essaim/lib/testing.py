"""Test support that every app's tests share: a free loopback port, an SMTP server that
records what it receives, and an HTTP server in a thread (`serve_http`) to fetch from. The
root conftest.py builds its fixtures on it; tests import it from here, never from a conftest."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: a browser test's Playwright keeps an event loop
    running in the main thread for the rest of the session, where `asyncio.run` refuses to."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorded:
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    # The client's (host, port): messages sent over one connection share it.
    peer: Any = None

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps every message; the `smtp_recorder` fixture serves it."""

    host: str
    port: int
    messages: list[Recorded] = field(default_factory=list)
    # Recipients the server refuses (550), as a real one refuses an unknown mailbox.
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Recorded(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                session.peer,
            )
        )
        return "250 OK"

    def to(self, address: str) -> list[Recorded]:
        return [m for m in self.messages if address in m.rcpt_to]


@dataclass
class SeenRequest:
    method: str
    path: str  # with its query string
    headers: dict[str, str]  # lower-case names


@dataclass
class LocalHttpServer:
    """An aiohttp web application served from a thread of its own (`serve_http`): tests of the
    guarded fetcher and of the watch point fetches at it; `requests` is what it was asked."""

    host: str
    port: int
    scheme: str
    app: web.Application
    requests: list[SeenRequest] = field(default_factory=list)

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path


@contextmanager
def serve_http(
    app: web.Application, host: str = "127.0.0.1", *, ssl_context: ssl.SSLContext | None = None
) -> Iterator[LocalHttpServer]:
    """Serve `app` on `host` (any 127.x.y.z, or ::1) and a free port until the block ends.

    The fetcher refuses loopback unless FETCH_ALLOW_ADDRESSES lists it, and any port but 80 and
    443 unless the policy (or FETCH_ALLOWED_PORTS) allows it: tests set both."""
    server = LocalHttpServer(host, 0, "https" if ssl_context else "http", app)

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        server.requests.append(
            SeenRequest(
                request.method,
                request.path_qs,
                {name.lower(): value for name, value in request.headers.items()},
            )
        )
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(record)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="serve_http", daemon=True)
    thread.start()
    # Handlers still streaming when the test ends (a 1 GB page, a trickle) are cut at once.
    runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        return int(runner.addresses[0][1])

    async def stop() -> None:
        await runner.cleanup()
        # Handlers still sleeping (a server that stalls on purpose) end with the server.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    try:
        server.port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class StaticResolver(AbstractResolver):
    """A resolver that answers from a table ({"feeds.example": ["127.0.0.1"]}) and says that
    any other name does not exist: names in tests without /etc/hosts or a DNS server. Given to
    GuardedClient(resolver=…), its answers are checked like the system's."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(socket.EAI_NONAME, f"{host}: Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        return None
