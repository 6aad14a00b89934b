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
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
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

    def payload(self) -> bytes: ...


def frame_data(message: bytes) -> bytes:
    """Dot-stuff a CRLF message (RFC 5321 4.5.2) and append the end-of-data marker."""
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _classify(reply: Reply) -> Outcome:
    if 200 <= reply.code < 400:
        return Outcome.ACCEPTED
    if 400 <= reply.code < 500:
        return Outcome.DEFERRED
    return Outcome.REJECTED


@dataclass
class SmtpClient:
    config: RelayConfig
    extensions: dict[str, str] = field(default_factory=dict)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _rbuf: bytearray = field(default_factory=bytearray)
    _waiting_since: float = 0.0  # when the current wait for the server began (0: not waiting)
    _timed_out: bool = False
    _watchdog: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

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
        try:
            async with asyncio.timeout(cfg.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    cfg.host,
                    cfg.port,
                    ssl=self._ssl_context() if cfg.tls == "implicit" else None,
                    server_hostname=cfg.host if cfg.tls == "implicit" else None,
                    limit=1 << 16,
                )
            self._rbuf = bytearray()
            self._timed_out = False
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"connect to {cfg.host}:{cfg.port}: {exc}") from exc
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
            assert self._writer is not None
            try:
                async with asyncio.timeout(cfg.timeout):
                    await self._writer.start_tls(self._ssl_context(), server_hostname=cfg.host)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                raise ConnectionLost(f"TLS handshake: {exc}") from exc
            self._rbuf = bytearray()  # nothing read before the handshake may count after it
            await self._ehlo()
        if cfg.username:
            await self._auth()

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

    async def _read_reply(self) -> Reply:
        """One reply, parsed from our own buffer: no StreamReader.readline and no timer per
        line (the watchdog below enforces the timeout for the whole connection)."""
        buf = self._rbuf
        lines: list[str] = []
        pos = 0
        while True:
            end = buf.find(b"\n", pos)
            if end < 0:
                if pos:
                    del buf[:pos]
                    pos = 0
                await self._fill()
                continue
            line = bytes(buf[pos : end + 1])
            pos = end + 1
            try:
                code = int(line[:3])
            except ValueError as exc:
                raise ConnectionLost(f"garbled reply {line[:60]!r}") from exc
            lines.append(line[4:].rstrip(b"\r\n").decode("utf-8", "replace"))
            if line[3:4] != b"-":
                del buf[:pos]
                return Reply(code, " | ".join(lines))

    async def _fill(self) -> None:
        if self._reader is None:
            raise ConnectionLost("not connected")
        if len(self._rbuf) > 1 << 16:
            raise ConnectionLost("reply line too long")
        self._waiting_since = time.monotonic()
        self._arm_watchdog()
        try:
            data = await self._reader.read(1 << 16)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise ConnectionLost(self._why(str(exc))) from exc
        finally:
            self._waiting_since = 0.0
        if not data:
            raise ConnectionLost(self._why("connection closed by the server"))
        self._rbuf += data

    def _why(self, reason: str) -> str:
        return "no reply in time" if self._timed_out else reason

    def _arm_watchdog(self) -> None:
        if self._watchdog is None:
            period = min(1.0, self.config.timeout / 4)
            self._watchdog = asyncio.get_running_loop().call_later(period, self._watch)

    def _watch(self) -> None:
        """Every second or so while connected: abort a connection that waits for a reply (or
        for room to write) longer than the configured timeout."""
        self._watchdog = None
        if self._writer is None:
            return
        since = self._waiting_since
        if since and time.monotonic() - since > self.config.timeout:
            self._timed_out = True
            self._writer.transport.abort()
            return
        self._arm_watchdog()

    def _write(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise ConnectionLost("connection closed")
        self._writer.write(data)

    async def _drain(self) -> None:
        assert self._writer is not None
        self._waiting_since = time.monotonic()
        self._arm_watchdog()
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(self._why(str(exc))) from exc
        finally:
            self._waiting_since = 0.0

    async def command(self, line: bytes) -> Reply:
        self._write(line + b"\r\n")
        await self._drain()
        return await self._read_reply()

    @staticmethod
    def _envelope(item: Outgoing) -> bytes:
        return f"MAIL FROM:<{item.mail_from}>\r\nRCPT TO:<{item.rcpt_to}>\r\nDATA\r\n".encode()

    async def send(
        self,
        items: Sequence[Outgoing],
        on_result: Callable[[Outgoing, Result], None],
        may_start: Callable[[Outgoing], bool],
    ) -> None:
        """Send `items` on this connection, reporting each one's result exactly once.

        `may_start(item)` is asked just before an item's envelope is written (pause, cancel,
        suppression); a refused item is reported RELEASED without touching the wire. On a lost
        connection every item is still reported (UNKNOWN for the one whose final dot left,
        RELEASED for the others) and ConnectionLost is raised.
        """
        queue: deque[Outgoing] = deque(items)
        current: Outgoing | None = None
        in_doubt: Outgoing | None = None  # final dot written, reply not read

        def next_item() -> Outgoing | None:
            while queue:
                item = queue.popleft()
                if may_start(item):
                    return item
                on_result(item, Result(Outcome.RELEASED))
            return None

        try:
            if self.pipelining:
                current = next_item()
                if current is not None:
                    self._write(self._envelope(current))
                    await self._drain()
                while current is not None:
                    mail = await self._read_reply()
                    rcpt = await self._read_reply()
                    data = await self._read_reply()
                    if mail.code == 250 and rcpt.code in (250, 251) and data.code == 354:
                        following = next_item()
                        chunk = frame_data(current.payload())
                        if following is not None:
                            chunk += self._envelope(following)
                        in_doubt, current = current, following
                        self._write(chunk)
                        await self._drain()
                        final = await self._read_reply()
                        done, in_doubt = in_doubt, None
                        on_result(done, Result(_classify(final), final))
                        if final.code == 421:
                            raise ConnectionLost(final.short())
                        continue
                    if data.code == 354:  # a server that starts DATA with no valid recipient
                        self._write(b".\r\n")
                        await self._drain()
                        await self._read_reply()
                    failed = mail if mail.code != 250 else (rcpt if rcpt.code >= 300 else data)
                    on_result(current, Result(_classify(failed), failed))
                    current = None
                    if 421 in (mail.code, rcpt.code, data.code):
                        raise ConnectionLost(failed.short())
                    following = next_item()
                    self._write(b"RSET\r\n" + (self._envelope(following) if following else b""))
                    await self._drain()
                    await self._read_reply()
                    current = following
            else:
                while (current := next_item()) is not None:
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
                    self._write(frame_data(in_doubt.payload()))
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
        self._rbuf = bytearray()
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
