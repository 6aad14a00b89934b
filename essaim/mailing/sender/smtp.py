"""A small asyncio SMTP client for the bulk sender: persistent connections, pipelining, and a
precise account of which messages may have been delivered when a connection dies.

Why our own: smtplib blocks, and aiosmtplib sends one command per round trip and cannot say,
when a connection drops, whether the final dot of a message had left. Here the only question
that matters for "never twice" is answered per message: an outcome of UNKNOWN means the final
dot was written and no reply came; RELEASED means the message content never went out (the
envelope may have), so sending it again is safe.

With PIPELINING (RFC 2920) a transaction costs one round trip: the content and final dot of one
message go in the same write as MAIL FROM, RCPT TO and DATA of the next (RFC 2920 allows the
message content to be the first "command" of a group). Without it, commands go in lock-step.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import re
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

_ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
REPLY_MAX = 200


class SmtpError(Exception):
    """The server refused something outside a mail transaction (greeting, EHLO, TLS, AUTH)."""


class ConnectionLost(Exception):
    """The connection closed, or a reply did not come in time."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    host: str
    port: int
    tls: str = "none"  # "none", "starttls" (required) or "implicit" (smtps)
    username: str = ""
    password: str = ""
    helo: str = "localhost"
    timeout: float = 60.0
    # Tests talk to servers with self-signed certificates; never in production settings.
    verify_tls: bool = True

    @classmethod
    def from_url(cls, url: str, *, helo: str = "localhost", timeout: float = 60.0) -> RelayConfig:
        """smtp://user:pass@host:port, smtps://…, smtp://…?starttls=1 (&verify=0 for tests)."""
        parsed = urlparse(url)
        if parsed.scheme not in {"smtp", "smtps"}:
            raise ValueError(f"BULK_SMTP_URL scheme {parsed.scheme!r} (use smtp:// or smtps://)")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        implicit = parsed.scheme == "smtps"
        starttls = query.get("starttls", "0") in {"1", "true", "yes"}
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (465 if implicit else 25),
            tls="implicit" if implicit else ("starttls" if starttls else "none"),
            username=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            helo=helo,
            timeout=timeout,
            verify_tls=query.get("verify", "1") not in {"0", "false", "no"},
        )


@dataclass(slots=True)  # not frozen: one per message, and frozen init costs ~4x
class Reply:
    code: int
    text: str  # all lines, joined by " | ", without the codes

    @property
    def enhanced(self) -> str:
        """The RFC 3463 status code ("5.1.1") if the server gave one, else ""."""
        match = _ENHANCED_RE.match(self.text)
        return match.group(0) if match else ""

    def short(self) -> str:
        return f"{self.code} {self.text}"[:REPLY_MAX]


class Outcome(enum.Enum):
    ACCEPTED = "accepted"  # 2xx after the final dot
    REJECTED = "rejected"  # 5xx at any step
    DEFERRED = "deferred"  # 4xx at any step
    UNKNOWN = "unknown"  # the final dot left and no reply came: never send again on our own
    RELEASED = "released"  # the content never left: safe to send again


@dataclass(slots=True)
class Result:
    outcome: Outcome
    reply: Reply | None = None


class Outgoing(Protocol):
    """One message for one recipient, as the client needs it."""

    mail_from: str
    rcpt_to: str

    def payload(self) -> bytes:
        """The DATA content as it goes on the wire: dot-stuffed, ending with CRLF.CRLF
        (essaim.mailing.message: CompiledMessage.wire builds it, frame_data frames any
        message)."""
        ...


def _classify(reply: Reply) -> Outcome:
    if 200 <= reply.code < 400:
        return Outcome.ACCEPTED
    if 400 <= reply.code < 500:
        return Outcome.DEFERRED
    return Outcome.REJECTED


# What a pipelined transaction still waits for, in the order the server answers.
_MAIL, _RCPT, _DATA, _FINAL, _IGNORE = range(5)


class _Wire(asyncio.Protocol):
    """The connection's protocol: hands every byte received to the client, synchronously (no
    StreamReader, no task wake-up per reply)."""

    __slots__ = ("client",)

    def __init__(self, client: SmtpClient) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client._received(data)

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(exc)

    def pause_writing(self) -> None:
        self.client._paused = True

    def resume_writing(self) -> None:
        client = self.client
        client._paused = False
        waiter = client._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Batch:
    """A pipelined run of transactions driven by the replies as they arrive (see
    SmtpClient.send): every step happens inside data_received, with no await per message."""

    __slots__ = (
        "client",
        "done",
        "envelope",
        "expect",
        "may_start",
        "on_result",
        "queue",
        "refill",
    )

    def __init__(
        self,
        client: SmtpClient,
        items: Sequence[Outgoing],
        on_result: Callable[[Outgoing, Result], None],
        may_start: Callable[[Outgoing], bool],
        refill: Callable[[], Sequence[Outgoing]] | None,
    ) -> None:
        self.client = client
        self.queue: deque[Outgoing] = deque(items)
        self.on_result = on_result
        self.may_start = may_start
        self.refill = refill
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # (what, item) for each reply still to come: MAIL, RCPT and DATA of the item whose
        # envelope is out, FINAL of the item whose final dot is out (at most one of each).
        self.expect: deque[tuple[int, Outgoing | None]] = deque()
        self.envelope: list[tuple[int, bytes]] = []  # MAIL and RCPT replies of the current item

    def next_item(self) -> Outgoing | None:
        queue = self.queue
        while True:
            while queue:
                item = queue.popleft()
                if self.may_start(item):
                    return item
                self.on_result(item, Result(Outcome.RELEASED))
            # Asked only here, when the next envelope would otherwise not follow the content:
            # a new batch starts with an envelope alone, a round trip with no content in it.
            more = self.refill() if self.refill is not None else ()
            if not more:
                return None
            queue.extend(more)

    def start(self) -> None:
        item = self.next_item()
        if item is None:
            self.done.set_result(None)
            return
        # Expectations before the write: if the write fails, fail() reports the item.
        self.expect.extend(((_MAIL, item), (_RCPT, item), (_DATA, item)))
        self.client._write(_envelope(item))

    def reply(self, code: int, raw: bytes) -> None:
        what, item = self.expect.popleft()
        if what == _FINAL:
            assert item is not None
            final = _reply(code, raw)
            self.on_result(item, Result(_classify(final), final))
            if code == 421:
                raise ConnectionLost(final.short())
        elif what == _DATA:
            assert item is not None
            mail, rcpt = self.envelope
            self.envelope = []
            if mail[0] == 250 and rcpt[0] in (250, 251) and code == 354:
                data = item.payload()
                following = self.next_item()
                self.expect.append((_FINAL, item))
                if following is not None:
                    self.expect.extend(((_MAIL, following), (_RCPT, following), (_DATA, following)))
                # RFC 2920: the content may open a group; the next envelope follows it.
                self.client._write(data + _envelope(following) if following else data)
            else:
                self.refused(item, mail, rcpt, (code, raw))
        elif what == _IGNORE:
            pass
        else:
            self.envelope.append((code, raw))
        if not self.expect:
            self.done.set_result(None)

    def refused(
        self,
        item: Outgoing,
        mail: tuple[int, bytes],
        rcpt: tuple[int, bytes],
        data: tuple[int, bytes],
    ) -> None:
        if data[0] == 354:  # a server that starts DATA with no valid recipient
            self.expect.append((_IGNORE, None))
            self.client._write(b".\r\n")
        failed = mail if mail[0] != 250 else (rcpt if rcpt[0] >= 300 else data)
        reply = _reply(*failed)
        self.on_result(item, Result(_classify(reply), reply))
        if 421 in (mail[0], rcpt[0], data[0]):
            raise ConnectionLost(reply.short())
        following = self.next_item()
        self.expect.append((_IGNORE, None))
        if following is not None:
            self.expect.extend(((_MAIL, following), (_RCPT, following), (_DATA, following)))
        self.client._write(b"RSET\r\n" + (_envelope(following) if following else b""))

    def fail(self, exc: BaseException) -> None:
        """The connection is gone: report every item still here exactly once."""
        reported: set[int] = set()
        for what, item in self.expect:
            if item is None or id(item) in reported:
                continue
            reported.add(id(item))
            # FINAL: the final dot left and no reply came. Otherwise only the envelope left.
            self.on_result(item, Result(Outcome.UNKNOWN if what == _FINAL else Outcome.RELEASED))
        self.expect.clear()
        self.envelope = []
        for item in self.queue:
            self.on_result(item, Result(Outcome.RELEASED))
        self.queue.clear()
        if not self.done.done():
            self.done.set_exception(exc)


def _envelope(item: Outgoing) -> bytes:
    return f"MAIL FROM:<{item.mail_from}>\r\nRCPT TO:<{item.rcpt_to}>\r\nDATA\r\n".encode()


def _reply(code: int, raw: bytes) -> Reply:
    """A Reply from the raw lines of one reply (codes included)."""
    if raw.count(b"\n") == 1:  # one line: the usual case
        return Reply(code, raw[4:].rstrip(b"\r\n").decode("utf-8", "replace"))
    lines = raw.split(b"\n")
    text = " | ".join(line[4:].rstrip(b"\r").decode("utf-8", "replace") for line in lines if line)
    return Reply(code, text)


class SmtpClient:
    """One connection to the relay. Replies are parsed from our own buffer as they arrive."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.extensions: dict[str, str] = {}
        self._transport: asyncio.Transport | None = None
        self._rbuf = b""
        self._reply_lines: list[bytes] = []  # lines of a multi-line reply read so far
        self._replies: deque[tuple[int, bytes]] = deque()  # complete replies nobody took yet
        self._waiter: asyncio.Future[None] | None = None  # a reader waiting for a reply
        self._batch: _Batch | None = None  # the pipelined send in progress, if any
        self._error: ConnectionLost | None = None  # why the connection is gone
        self._paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._waiting = False  # something waits for the server (a reply or room to write)
        self._progress = 0.0  # when the server last sent anything (or the wait began)
        self._timed_out = False
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    @property
    def pipelining(self) -> bool:
        return "PIPELINING" in self.extensions

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def connect(self) -> None:
        """Open, greet, EHLO, STARTTLS if configured, AUTH if credentials are given."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        self._reset()
        try:
            async with asyncio.timeout(cfg.timeout):
                transport, _ = await loop.create_connection(
                    lambda: _Wire(self),
                    cfg.host,
                    cfg.port,
                    ssl=self._ssl_context() if cfg.tls == "implicit" else None,
                    server_hostname=cfg.host if cfg.tls == "implicit" else None,
                )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise ConnectionLost(f"connect to {cfg.host}:{cfg.port}: {exc}") from exc
        self._transport = transport  # type: ignore[assignment]
        greeting = await self._read_reply()
        if greeting.code != 220:
            raise SmtpError(f"greeting: {greeting.short()}")
        await self._ehlo()
        if cfg.tls == "starttls":
            if "STARTTLS" not in self.extensions:
                raise SmtpError("the relay does not offer STARTTLS")
            reply = await self.command(b"STARTTLS")
            if reply.code != 220:
                raise SmtpError(f"STARTTLS: {reply.short()}")
            assert self._transport is not None
            protocol = self._transport.get_protocol()
            try:
                async with asyncio.timeout(cfg.timeout):
                    tls = await loop.start_tls(
                        self._transport, protocol, self._ssl_context(), server_hostname=cfg.host
                    )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                raise ConnectionLost(f"TLS handshake: {exc}") from exc
            if tls is None:
                raise ConnectionLost("TLS handshake: the connection closed")
            self._transport = tls  # type: ignore[assignment]
            # Nothing read before the handshake may count after it.
            self._rbuf = b""
            self._reply_lines = []
            self._replies.clear()
            await self._ehlo()
        if cfg.username:
            await self._auth()

    def _reset(self) -> None:
        self._rbuf = b""
        self._reply_lines = []
        self._replies.clear()
        self._error = None
        self._timed_out = False
        self._paused = False

    async def _ehlo(self) -> None:
        reply = await self.command(f"EHLO {self.config.helo}".encode())
        if reply.code != 250:
            raise SmtpError(f"EHLO: {reply.short()}")
        self.extensions = {}
        for line in reply.text.split(" | ")[1:]:
            keyword, _, params = line.partition(" ")
            self.extensions[keyword.upper()] = params

    async def _auth(self) -> None:
        cfg = self.config
        mechanisms = self.extensions.get("AUTH", "").upper().split()
        if "PLAIN" in mechanisms:
            secret = f"\0{cfg.username}\0{cfg.password}".encode()
            reply = await self.command(b"AUTH PLAIN " + base64.b64encode(secret))
        elif "LOGIN" in mechanisms:
            reply = await self.command(b"AUTH LOGIN")
            if reply.code == 334:
                reply = await self.command(base64.b64encode(cfg.username.encode()))
            if reply.code == 334:
                reply = await self.command(base64.b64encode(cfg.password.encode()))
        else:
            raise SmtpError(f"no supported AUTH mechanism in {mechanisms}")
        if reply.code != 235:
            raise SmtpError(f"AUTH: {reply.short()}")

    # --- receiving ----------------------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        """Split what arrived into replies: to the pipelined batch if one runs, else queued for
        _read_reply."""
        self._progress = time.monotonic()
        buf = self._rbuf + data if self._rbuf else data
        pos = 0
        batch = self._batch
        try:
            while True:
                end = buf.find(b"\n", pos)
                if end < 0:
                    break
                line = buf[pos : end + 1]
                pos = end + 1
                try:
                    code = int(line[:3])
                except ValueError:
                    raise ConnectionLost(f"garbled reply {line[:60]!r}") from None
                if line[3:4] == b"-":
                    self._reply_lines.append(line)
                    continue
                if self._reply_lines:
                    self._reply_lines.append(line)
                    line = b"".join(self._reply_lines)
                    self._reply_lines = []
                if batch is not None:
                    batch.reply(code, line)
                    if batch.done.done():
                        self._batch = batch = None
                else:
                    self._replies.append((code, line))
            rest = buf[pos:]
            if len(rest) > 1 << 16:
                raise ConnectionLost("reply line too long")
            self._rbuf = rest
        except Exception as exc:
            if batch is not None and not isinstance(exc, ConnectionLost):
                # A bug of ours in a callback: send() raises it, after reporting every item.
                self._batch = None
                batch.fail(exc)
            self._abort(exc if isinstance(exc, ConnectionLost) else ConnectionLost(repr(exc)))
            return
        waiter = self._waiter
        if waiter is not None and self._replies and not waiter.done():
            waiter.set_result(None)

    def _lost(self, exc: Exception | None) -> None:
        if self._error is None:
            reason = "no reply in time" if self._timed_out else str(exc or "")
            self._error = ConnectionLost(reason or "connection closed by the server")
        self._transport = None
        self._wake(self._error)

    def _abort(self, error: ConnectionLost) -> None:
        """Drop the connection now (bad reply, timeout): whatever is pending fails with `error`."""
        if self._error is None:
            self._error = error
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()
        self._wake(self._error)

    def _wake(self, error: ConnectionLost) -> None:
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.fail(error)
        for waiter in (self._waiter, self._drain_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)

    async def _read_reply(self) -> Reply:
        """The next reply (outside pipelined sends)."""
        while not self._replies:
            if self._error is not None:
                raise self._error
            if self._transport is None:
                raise ConnectionLost("not connected")
            self._waiter = asyncio.get_running_loop().create_future()
            self._begin_wait()
            try:
                await self._waiter
            finally:
                self._waiter = None
                self._waiting = False
        return _reply(*self._replies.popleft())

    # --- timeouts -----------------------------------------------------------------------------

    def _begin_wait(self) -> None:
        self._waiting = True
        self._progress = time.monotonic()
        if self._watchdog is None:
            period = min(1.0, self.config.timeout / 4)
            self._watchdog = asyncio.get_running_loop().call_later(period, self._watch)

    def _watch(self) -> None:
        """Every second or so while connected: abort a connection that waits for the server
        (a reply, or room to write) with nothing from it for longer than the timeout."""
        self._watchdog = None
        if self._transport is None:
            return
        if self._waiting and time.monotonic() - self._progress > self.config.timeout:
            self._timed_out = True
            self._abort(ConnectionLost("no reply in time"))
            return
        period = min(1.0, self.config.timeout / 4)
        self._watchdog = asyncio.get_running_loop().call_later(period, self._watch)

    # --- sending ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise self._error or ConnectionLost("connection closed")
        transport.write(data)

    async def _drain(self) -> None:
        if not self._paused:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        self._begin_wait()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None
            self._waiting = False

    async def command(self, line: bytes) -> Reply:
        self._write(line + b"\r\n")
        await self._drain()
        return await self._read_reply()

    async def send(
        self,
        items: Sequence[Outgoing],
        on_result: Callable[[Outgoing, Result], None],
        may_start: Callable[[Outgoing], bool],
        refill: Callable[[], Sequence[Outgoing]] | None = None,
    ) -> None:
        """Send `items` on this connection, reporting each one's result exactly once.

        With PIPELINING, `refill()` is asked for more items when the last one is about to go,
        and the batch goes on with what it returns (nothing: the batch ends); the items it
        hands over are this batch's, reported like the others.

        `may_start(item)` is asked just before an item's envelope is written (pause, cancel,
        suppression); a refused item is reported RELEASED without touching the wire. On a lost
        connection every item is still reported (UNKNOWN for the one whose final dot left,
        RELEASED for the others) and ConnectionLost is raised.

        With PIPELINING the whole batch runs inside the protocol's data_received (see _Batch):
        one write per message (its content with the next envelope) and no await per reply.
        The write buffer holds at most one message and one envelope, so flow control is moot.
        """
        if not self.pipelining:
            await self._send_lockstep(items, on_result, may_start)
            return
        if self._error is not None or self._transport is None:
            for item in items:
                on_result(item, Result(Outcome.RELEASED))
            self.close()
            raise self._error or ConnectionLost("not connected")
        batch = _Batch(self, items, on_result, may_start, refill)
        self._batch = batch
        try:
            batch.start()
        except ConnectionLost as exc:
            batch.fail(exc)
        if batch.done.done():
            self._batch = None
        else:
            self._begin_wait()
        try:
            await batch.done
        except ConnectionLost:
            self.close()
            raise
        finally:
            self._waiting = False
            if self._batch is batch:
                self._batch = None

    async def _send_lockstep(
        self,
        items: Sequence[Outgoing],
        on_result: Callable[[Outgoing, Result], None],
        may_start: Callable[[Outgoing], bool],
    ) -> None:
        """Without PIPELINING: one command, one reply."""
        queue: deque[Outgoing] = deque(items)
        current: Outgoing | None = None
        in_doubt: Outgoing | None = None  # final dot written, reply not read
        try:
            while queue:
                current = queue.popleft()
                if not may_start(current):
                    on_result(current, Result(Outcome.RELEASED))
                    current = None
                    continue
                failed = None
                for line in (
                    f"MAIL FROM:<{current.mail_from}>".encode(),
                    f"RCPT TO:<{current.rcpt_to}>".encode(),
                    b"DATA",
                ):
                    reply = await self.command(line)
                    if reply.code >= 400 or (line == b"DATA" and reply.code != 354):
                        failed = reply
                        break
                if failed is not None:
                    on_result(current, Result(_classify(failed), failed))
                    current = None
                    if failed.code == 421:
                        raise ConnectionLost(failed.short())
                    await self.command(b"RSET")
                    continue
                in_doubt, current = current, None
                self._write(in_doubt.payload())
                await self._drain()
                final = await self._read_reply()
                done, in_doubt = in_doubt, None
                on_result(done, Result(_classify(final), final))
                if final.code == 421:
                    raise ConnectionLost(final.short())
        except ConnectionLost:
            if in_doubt is not None:
                on_result(in_doubt, Result(Outcome.UNKNOWN))
            if current is not None:
                on_result(current, Result(Outcome.RELEASED))
            for item in queue:
                on_result(item, Result(Outcome.RELEASED))
            queue.clear()
            self.close()
            raise

    async def noop(self) -> bool:
        try:
            return (await self.command(b"NOOP")).code == 250
        except ConnectionLost:
            self.close()
            return False

    async def quit(self) -> None:
        if self.connected:
            with contextlib.suppress(ConnectionLost):
                await self.command(b"QUIT")
        self.close()

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._rbuf = b""
        self._reply_lines = []
        self._replies.clear()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
