"""The development SMTP catcher: accepts every message on a local port and keeps it in the
database. Never used for real mail."""

from __future__ import annotations

import asyncio
import logging
from email import policy
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async

from essaim.devmail.models import CaughtMessage

log = logging.getLogger(__name__)


class CatchAllHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        await sync_to_async(CaughtMessage.objects.create)(
            mail_from=str(envelope.mail_from)[:500],
            from_header=str(headers.get("From", ""))[:500],
            rcpt_to=list(envelope.rcpt_tos),
            subject=str(headers.get("Subject", ""))[:500],
            raw=raw,
        )
        log.info("caught mail for %s", ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def start_catcher(host: str, port: int) -> Controller:
    controller = Controller(CatchAllHandler(), hostname=host, port=port)
    controller.start()
    return controller


def serve_forever(host: str, port: int) -> None:
    controller = start_catcher(host, port)
    try:
        asyncio.run(_sleep_forever())
    finally:
        controller.stop()


async def _sleep_forever() -> None:
    while True:
        await asyncio.sleep(3600)
