"""`essaim bounces`: the SMTP server the VERP domain's MX points to (aiosmtpd).

It accepts mail for three kinds of address only: bounces+<delivery id>-<hmac>@MAILING_VERP_DOMAIN
whose HMAC is right and whose ledger row exists; MAILING_UNSUBSCRIBE_MAILTO, the mailbox of
List-Unsubscribe's mailto: (essaim.mailing.services.mail_unsubscribe: the subject names the
delivery, with its HMAC); and MAILING_COMPLAINTS_ADDRESS, where the feedback loops that do not
use VERP send their ARF reports (essaim.mailing.services.complaints: the reported message's
signed codes name the delivery). A mail to either mailbox that names no delivery of ours, or
not validly, is refused at DATA with a 550 that says why, and logged.
Anything else is refused at RCPT with a 550 that says why, so forged or stray mail never reaches
the database. Messages above BOUNCES_MAX_BYTES are refused (552) before they are stored; an idle
client is dropped after BOUNCES_TIMEOUT seconds.

A message is answered 250 only once its report is committed; a database failure answers 451,
so the sending server keeps it and tries again later (the decision is idempotent): no report is
lost between the wire and the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections, connections

from essaim.mailing.services.bounces import Refusal, delivery_for_address, record_report
from essaim.mailing.services.complaints import (
    ComplaintRefusal,
    complaint_by_mail,
    is_complaints_address,
)
from essaim.mailing.services.mail_unsubscribe import (
    MailRefusal,
    is_unsubscribe_address,
    unsubscribe_by_mail,
)

log = logging.getLogger("essaim.mailing.bounces")

# A delivery report goes back to one envelope sender; a few recipients at most is normal.
MAX_RECIPIENTS = 10
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"


def _in_db[T](fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # Worker threads live as long as the server: drop connections that broke or aged.
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


class BounceHandler:
    """aiosmtpd handler; the database work runs in a small thread pool."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    async def _db[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: _in_db(fn, *args, **kwargs))

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if is_unsubscribe_address(address) or is_complaints_address(address):
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        try:
            found = await self._db(delivery_for_address, address)
        except Exception:
            log.exception("bounces: cannot check %s", address)
            return TEMPORARY_FAILURE
        if isinstance(found, Refusal):
            log.info("bounces: refused %s from %s (%s)", address, session.peer, found.name)
            return found.value
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content or b""
        peer = str(session.peer[0]) if session.peer else ""
        mail_from = str(envelope.mail_from or "")
        refused: MailRefusal | ComplaintRefusal | None = None
        try:
            for address in envelope.rcpt_tos:
                if is_unsubscribe_address(address):
                    result = await self._db(unsubscribe_by_mail, raw, peer=peer)
                    if isinstance(result, MailRefusal):
                        refused = result
                    log.info("bounces: unsubscribe by mail from %s: %s", peer, result)
                    continue
                if is_complaints_address(address):
                    complaint = await self._db(
                        complaint_by_mail, raw=raw, mail_from=mail_from, peer=peer
                    )
                    if isinstance(complaint, ComplaintRefusal):
                        refused = complaint
                        log.info(
                            "bounces: complaint refused from %s (mail from %r): %s",
                            peer,
                            mail_from,
                            complaint.name,
                        )
                    else:
                        log.info(
                            "bounces: complaint for delivery %s%s",
                            complaint.report.delivery_id,
                            "" if complaint.created else " (already recorded)",
                        )
                    continue
                found = await self._db(delivery_for_address, address)
                if isinstance(found, Refusal):  # the row vanished between RCPT and DATA
                    continue
                outcome = await self._db(
                    record_report, delivery_id=found, raw=raw, mail_from=mail_from, peer=peer
                )
                log.info(
                    "bounces: %s for delivery %s%s",
                    outcome.report.kind,
                    found,
                    "" if outcome.created else " (already recorded)",
                )
        except Exception:
            log.exception("bounces: could not record a report for %s", envelope.rcpt_tos)
            return TEMPORARY_FAILURE
        if refused is not None:
            return refused.value
        return "250 2.0.0 Report recorded"


DB_WORKERS = 4


class BounceController(Controller):
    """aiosmtpd's Controller, whose `stop()` also stops the database thread pool."""

    def stop(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().stop(*args, **kwargs)
        finally:
            _shut_down(self.handler.executor, DB_WORKERS)


def _shut_down(executor: ThreadPoolExecutor, workers: int) -> None:
    """Close each worker's database connection, then stop the pool. Django's connections are
    per thread, and an idle worker keeps its own open (CONN_MAX_AGE) as long as it lives."""
    barrier = threading.Barrier(workers)

    def close() -> None:
        connections.close_all()
        # Held here until every worker has closed, so that each task runs in another thread.
        barrier.wait(timeout=5)

    futures.wait([executor.submit(close) for _ in range(workers)], timeout=10)
    executor.shutdown(wait=False, cancel_futures=True)


def start_server(host: str | None = None, port: int | None = None) -> BounceController:
    """Start the server in its own thread (aiosmtpd's Controller); `stop()` it when done."""
    handler = BounceHandler(ThreadPoolExecutor(DB_WORKERS, thread_name_prefix="bounces-db"))
    controller = BounceController(
        handler,
        hostname=host or settings.BOUNCES_HOST,
        port=port or settings.BOUNCES_PORT,
        server_hostname=settings.MAILING_VERP_DOMAIN,
        ident="Essaim bounce intake",
        data_size_limit=settings.BOUNCES_MAX_BYTES,
        timeout=settings.BOUNCES_TIMEOUT,
    )
    controller.start()
    return controller


def serve_forever(host: str, port: int) -> None:
    """Run until SIGTERM or SIGINT (what honcho and systemd send)."""
    controller = start_server(host, port)
    try:
        asyncio.run(_until_signalled())
    finally:
        controller.stop()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
