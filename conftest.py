"""Fixtures shared by every test: the cast of users and real local servers.

The cast, after Healthchecks' hc/test.py: an HQ admin, an HQ staff member, a coordinator of
Paris (75), a coordinator of Lyon (69), a volunteer, and the anonymous visitor. Permission tests
read as sentences with them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from essaim.accounts.models import Role, User

PASSWORD = "correct-horse-battery-staple"


def make_user(email: str, role: str, zones: list[str] | None = None) -> User:
    return User.objects.create_user(
        email, PASSWORD, role=role, zones=zones or [], full_name=email.split("@")[0]
    )


@pytest.fixture
def hq_admin(db: Any) -> User:
    return make_user("admin@qg.test", Role.HQ_ADMIN)


@pytest.fixture
def hq(db: Any) -> User:
    return make_user("staff@qg.test", Role.HQ_STAFF)


@pytest.fixture
def coordinator(db: Any) -> User:
    return make_user("coord.paris@equipe.test", Role.COORDINATOR, ["75"])


@pytest.fixture
def other_coordinator(db: Any) -> User:
    return make_user("coord.lyon@equipe.test", Role.COORDINATOR, ["69"])


@pytest.fixture
def volunteer(db: Any) -> User:
    return make_user("volontaire@equipe.test", Role.VOLUNTEER)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hq_client(hq: User) -> Client:
    return _client_for(hq)


@pytest.fixture
def admin_client_(hq_admin: User) -> Client:
    return _client_for(hq_admin)


@pytest.fixture
def coordinator_client(coordinator: User) -> Client:
    return _client_for(coordinator)


@pytest.fixture
def volunteer_client(volunteer: User) -> Client:
    return _client_for(volunteer)


# --- A real SMTP server that records what it receives ---------------------------------------


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_recorder(settings: Any) -> Iterator[SmtpRecorder]:
    """An aiosmtpd server on a free loopback port; Django's transactional mail goes to it."""
    recorder = SmtpRecorder("127.0.0.1", free_port())
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": recorder.host, "port": recorder.port, "timeout": 5},
        }
    }
    try:
        yield recorder
    finally:
        controller.stop()
