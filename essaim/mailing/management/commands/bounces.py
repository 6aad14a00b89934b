from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from essaim.mailing.bounces.server import serve_forever


class Command(BaseCommand):
    help = (
        "Run the bounce intake: an SMTP server for MAILING_VERP_DOMAIN that records delivery "
        "reports (RFC 3464), complaints (RFC 5965) and other bounces, and suppresses addresses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.BOUNCES_HOST)
        parser.add_argument("--port", type=int, default=settings.BOUNCES_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            f"bounces: receiving mail for @{settings.MAILING_VERP_DOMAIN} "
            f"on {options['host']}:{options['port']}"
        )
        self.stdout.flush()
        serve_forever(options["host"], options["port"])
