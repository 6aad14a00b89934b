"""Test support that every app's tests share: a free loopback port and an SMTP server that
records what it receives. The root conftest.py builds its fixtures on it; tests import it
from here, never from a conftest."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorded:
    mail_from: str
    rcpt_to: list[str]
    raw: bytes

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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Recorded(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        return "250 OK"

    def to(self, address: str) -> list[Recorded]:
        return [m for m in self.messages if address in m.rcpt_to]
