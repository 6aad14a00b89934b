"""Mail caught by the development SMTP catcher (`essaim devmail`), so a newcomer running the demo
can read the confirmation mail Essaim sent, without any real mail server."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.db import models
from django.utils import timezone


class CaughtMessage(models.Model):
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The envelope's sender (the bounce address, VERP for campaign mail), and the From header
    # that the recipient sees; mail caught before the header was kept shows the envelope's.
    mail_from = models.CharField(max_length=500)
    from_header = models.CharField(max_length=500, blank=True)
    rcpt_to = models.JSONField(default=list)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(bytes(self.raw))  # type: ignore[return-value]

    @property
    def sender(self) -> str:
        return self.from_header or self.mail_from

    def text_body(self) -> str:
        message = self.parsed()
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html_body(self) -> str | None:
        """The HTML part as the recipient's mail client gets it, or None for a text-only mail."""
        part = self.parsed().get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None
