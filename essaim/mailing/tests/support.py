"""Helpers of the mailing tests that are not fixtures: waiting, SMTP servers that record what
they receive, the environment of `essaim sender` subprocesses, bounce reports and ledger
readings. The fixtures that start and stop these live in conftest.py."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from essaim.mailing.message import VerpSigner
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.progress import delivery_counts
from essaim.people.models import Consent, ContactEvent

ROOT = Path(__file__).resolve().parents[3]
SMTP_SINK = "/usr/sbin/smtp-sink"
REPORTS = Path(__file__).parent / "reports"


def ledger_counts(campaign: Campaign) -> dict[str, int]:
    """The states present, rows held by a claim counted as `claimed` (as the campaign page)."""
    return {state: n for state, n in delivery_counts(campaign).items() if n}


def duplicates(addresses: list[str]) -> dict[str, int]:
    return {a: n for a, n in Counter(addresses).items() if n > 1}


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def wait_port(port: int, timeout: float = 60.0) -> None:
    # Generous: a Django process starting on a loaded 2-core machine can take over 10 s; this
    # waits for a start-up, it measures nothing.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise AssertionError(f"nothing listens on {port}")


def run_coroutine[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: once a browser test has started Playwright's sync
    API, the test thread holds a running event loop and asyncio.run refuses to start there."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=120)


# --- Postfix smtp-sink ----------------------------------------------------------------------

_RCPT_RE = re.compile(rb"^X-Rcpt-Args: <([^>]*)>", re.MULTILINE)


@dataclass
class Sink:
    port: int
    dump: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def recipients(self) -> list[str]:
        """Every RCPT of every transaction smtp-sink recorded (one per message here)."""
        if not self.dump.exists():
            return []
        return [m.decode() for m in _RCPT_RE.findall(self.dump.read_bytes())]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


# --- aiosmtpd with scripted replies ---------------------------------------------------------


@dataclass
class ScriptedServer:
    """An aiosmtpd server whose replies a test decides: `rcpt_replies[address]` is a list of
    replies used in turn (then 250), `drop_at_rcpt` addresses get their connection closed once,
    `delay` slows every DATA down."""

    host: str
    port: int
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    drop_at_rcpt: set[str] = field(default_factory=set)
    delay: float = 0.0
    received: list[tuple[float, str, bytes]] = field(default_factory=list)
    mail_from: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.close()
            return "421 4.4.2 going away"
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        for rcpt in envelope.rcpt_tos:
            self.received.append(
                (time.monotonic(), rcpt, envelope.original_content or envelope.content)
            )
        self.mail_from.append(envelope.mail_from)
        return "250 2.0.0 queued"

    def addresses(self) -> list[str]:
        return [r for _, r, _ in self.received]


# --- `essaim sender` subprocesses on the test's database ------------------------------------


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "1",
            "SECRET_KEY": settings.SECRET_KEY,
            "SITE_URL": settings.SITE_URL,
            "DATA_DIR": str(settings.DATA_DIR),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


@dataclass
class LiveLedger:
    """Environment for `essaim sender` subprocesses that see the test's data."""

    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def sender(
        self, relay_url: str, *args: str, lease: float = 30, **env: str
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "essaim.manage",
                "sender",
                "--lease",
                str(lease),
                "--stats",
                *args,
            ],
            env={**self.env, "BULK_SMTP_URL": relay_url, **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        self.procs.append(proc)
        return proc

    def run_sender(self, relay_url: str, *args: str, timeout: float = 60, **kw: Any) -> str:
        proc = self.sender(relay_url, "--once", *args, **kw)
        out, _ = proc.communicate(timeout=timeout)
        assert proc.returncode == 0
        return out.decode()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# --- The bounce intake ----------------------------------------------------------------------


def report(name: str, delivery: Delivery, *, message_id: str = "") -> bytes:
    """A fixture report for this ledger row: its VERP address and recipient filled in."""
    raw = (REPORTS / name).read_bytes()
    if name.endswith(".eml"):
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (
        raw.replace(b"@@VERP@@", verp(delivery).encode())
        .replace(b"@@RCPT@@", delivery.email.encode())
        .replace(b"@@MSGID@@", (message_id or f"gave-up.{delivery.pk}@mx1.exemple.fr").encode())
    )


def verp(delivery: Delivery | int) -> str:
    pk = delivery if isinstance(delivery, int) else delivery.pk
    return VerpSigner(settings.MAILING_VERP_DOMAIN).address(pk)


@dataclass
class Intake:
    port: int

    def send(self, rcpt: str, raw: bytes, mail_from: str = "") -> dict[str, Any]:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            return client.sendmail(mail_from, [rcpt], raw)


def consents(delivery: Delivery) -> list[str]:
    return list(Consent.objects.filter(contact=delivery.contact).values_list("status", flat=True))


def events(delivery: Delivery) -> list[tuple[str, dict[str, Any]]]:
    return list(
        ContactEvent.objects.filter(contact=delivery.contact)
        .order_by("id")
        .values_list("kind", "data")
    )
