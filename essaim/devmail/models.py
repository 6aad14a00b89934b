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
    mail_from = models.CharField(max_length=500)
    rcpt_to = models.JSONField(default=list)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(bytes(self.raw))  # type: ignore[return-value]

    def text_body(self) -> str:
        message = self.parsed()
        part = message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""
