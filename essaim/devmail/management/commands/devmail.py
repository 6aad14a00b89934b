import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from essaim.devmail.rules import devmail_enabled
from essaim.devmail.smtpd import serve_forever


class Command(BaseCommand):
    help = "Run the development SMTP catcher: every message is kept and shown at /dev/courrier/."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.DEVMAIL_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        if not devmail_enabled():
            # Outside the demo nothing is caught. The process stays, idle, until it is stopped:
            # honcho stops every process of the Procfile as soon as one exits.
            self.stderr.write(
                "devmail: off (it runs only in the demo: DEMO=1 and DEVMAIL_ENABLED=1); "
                "nothing is caught. Leave this process out of a production deployment."
            )
            self.stderr.flush()
            signal.pause()
            return
        self.stdout.write(f"devmail: catching mail on {options['host']}:{options['port']}")
        serve_forever(options["host"], options["port"])
