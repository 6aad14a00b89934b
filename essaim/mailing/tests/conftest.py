"""Fixtures of the mailing tests: audiences, campaigns, real SMTP servers, and a database that a
sender subprocess can share with the test (a SQLite file, or the PostgreSQL test database)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from essaim.lib.testing import free_port
from essaim.lib.text import normalize_email
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.services.campaigns import delivery_counts
from essaim.people.models import Consent, Contact, email_hash

ROOT = Path(__file__).resolve().parents[3]
SMTP_SINK = "/usr/sbin/smtp-sink"


def make_audience(
    n: int,
    *,
    prefix: str = "r",
    domain: str = "exemple.fr",
    first_name: str = "Camille",
    consent: str | None = Consent.Status.GRANTED,
) -> list[Contact]:
    """`n` contacts `{prefix}{i}@{domain}` with a news consent, written in bulk."""
    now = timezone.now()
    contacts = []
    for i in range(n):
        address, key = normalize_email(f"{prefix}{i}@{domain}")
        contacts.append(
            Contact(
                email=address,
                email_key=key,
                email_hash=email_hash(key),
                first_name=first_name,
                last_name=f"Nom{i}",
                source="test",
                created_at=now,
                updated_at=now,
            )
        )
    created = Contact.objects.bulk_create(contacts, batch_size=2000)
    if consent is not None:
        Consent.objects.bulk_create(
            [
                Consent(
                    contact=c,
                    purpose="news",
                    status=consent,
                    basis=Consent.Basis.EXPLICIT_CONSENT,
                    source=Consent.Source.IMPORT,
                    created_at=now,
                    updated_at=now,
                )
                for c in created
            ],
            batch_size=2000,
        )
    return created


def make_campaign(**fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "name": "Appel du 18",
        "from_name": "Campagne Essaim",
        "from_email": "equipe@campagne.test",
        "reply_to": "contact@campagne.test",
        "subject": "Nous avons besoin de vous",
        "preheader": "Quatre jours pour convaincre",
        "body_markdown": 'Bonjour {{ first_name|default:"ami·e" }},\n\nRendez-vous samedi.\n',
    }
    values.update(fields)
    return Campaign.objects.create(**values)


@pytest.fixture
def sent(transactional_db: Any) -> list[Delivery]:
    """A campaign whose three messages the relay accepted (the bounce and complaint tests)."""
    campaign = make_campaign(status=Campaign.Status.DONE)
    freeze_audience(campaign, Contact.objects.filter(pk__in=[c.pk for c in make_audience(3)]))
    Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.ACCEPTED)
    return list(Delivery.objects.filter(campaign=campaign).order_by("pk"))


def ledger_counts(campaign: Campaign) -> dict[str, int]:
    """The states present, rows held by a claim counted as `claimed` (as the campaign page)."""
    return {state: n for state, n in delivery_counts(campaign).items() if n}


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def _wait_port(port: int, timeout: float = 60.0) -> None:
    # Generous: a Django process starting on a loaded 2-core machine can take over 10 s; this
    # waits for a start-up, it measures nothing.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise AssertionError(f"nothing listens on {port}")


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


@pytest.fixture
def sink_factory() -> Iterator[Callable[..., Sink]]:
    sinks: list[Sink] = []
    # smtp-sink drops to `nobody` when started as root: its folder must be reachable by nobody,
    # which pytest's private tmp_path is not.
    base = Path(tempfile.mkdtemp(prefix="essaim-sink-"))
    base.chmod(0o777)

    def start(*options: str) -> Sink:
        folder = base / f"sink{len(sinks)}"
        folder.mkdir()
        folder.chmod(0o777)
        port = free_port()
        privileges = ["-u", "nobody"] if os.geteuid() == 0 else []
        proc = subprocess.Popen(
            [
                SMTP_SINK,
                *privileges,
                "-D",
                str(folder / "dump"),
                *options,
                f"127.0.0.1:{port}",
                "256",
            ]
        )
        sink = Sink(port, folder / "dump", proc)
        sinks.append(sink)
        _wait_port(port)
        return sink

    yield start
    for sink in sinks:
        sink.stop()
    shutil.rmtree(base, ignore_errors=True)


def run_coroutine[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: once a browser test has started Playwright's sync
    API, the test thread holds a running event loop and asyncio.run refuses to start there."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=120)


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
            import asyncio

            await asyncio.sleep(self.delay)
        for rcpt in envelope.rcpt_tos:
            self.received.append(
                (time.monotonic(), rcpt, envelope.original_content or envelope.content)
            )
        self.mail_from.append(envelope.mail_from)
        return "250 2.0.0 queued"

    def addresses(self) -> list[str]:
        return [r for _, r, _ in self.received]


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- A database the sender subprocess shares with the test ----------------------------------


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "template.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "essaim.manage", "migrate", "--noinput", "-v0"],
        env={**_base_env(), "SQLITE_PATH": str(path)},
        check=True,
        cwd=ROOT,
    )
    return path


def _base_env() -> dict[str, str]:
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


@pytest.fixture
def live_ledger(transactional_db: Any, tmp_path: Path, request: Any) -> Iterator[LiveLedger]:
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
        ledger = LiveLedger({**_base_env(), "DATABASE_URL": url})
        try:
            yield ledger
        finally:
            ledger.stop_all()
        return
    # SQLite: the test database lives in memory, out of a subprocess's reach. Point this
    # connection at a migrated file for the test, then give the in-memory one back.
    template = request.getfixturevalue("_migrated_sqlite")
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(template, path)
    saved_name = connection.settings_dict["NAME"]
    saved_conn = connection.connection
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    ledger = LiveLedger({**_base_env(), "SQLITE_PATH": str(path)})
    try:
        yield ledger
    finally:
        ledger.stop_all()
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = saved_conn
