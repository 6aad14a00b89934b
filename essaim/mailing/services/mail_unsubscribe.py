"""Unsubscribes by mail: the `mailto:` of every campaign message's List-Unsubscribe header.

The header offers `mailto:MAILING_UNSUBSCRIBE_MAILTO?subject=unsubscribe-<delivery id>-<tag>`,
where the tag is the HMAC of the delivery's VERP address (essaim.mailing.message.VerpSigner). A
mail client that unsubscribes this way sends a mail with that subject to that address; the
`bounces` server (its MX) accepts it and the person leaves everything, as with the one-click
POST: every consent withdrawn and the address suppressed, at once and idempotently, with the
channel "mailto" on the contact's timeline. The tag makes the subject unforgeable: a mail that
names somebody else's delivery without its tag changes nothing and is refused.
"""

from __future__ import annotations

import enum
import re
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from django.conf import settings

from essaim.mailing.models import Delivery
from essaim.mailing.services.bounces import verp_signer
from essaim.people.services.unsubscribe import (
    UnsubscribeResult,
    unsubscribe,
    unsubscribe_target,
)

# Anywhere in the subject: clients may add "Re:" or the like around it.
_SUBJECT_RE = re.compile(r"unsubscribe-(\d{1,18})-([a-z2-7]{8})\b", re.IGNORECASE)


class MailRefusal(enum.Enum):
    """Why an unsubscribe mail is refused (the SMTP reply to its DATA)."""

    NO_CODE = "550 5.6.0 No unsubscribe code in the subject (unsubscribe-<number>-<code>)"
    FORGED = "550 5.7.1 Invalid unsubscribe code"
    UNKNOWN = "550 5.1.1 No message of ours has this unsubscribe code"


def is_unsubscribe_address(address: str) -> bool:
    """Whether an RCPT address is the List-Unsubscribe mailbox (case-insensitive)."""
    return address.strip().strip("<>").lower() == settings.MAILING_UNSUBSCRIBE_MAILTO.lower()


def unsubscribe_by_mail(raw: bytes, *, peer: str = "") -> UnsubscribeResult | MailRefusal:
    """Read the delivery from the mail's subject, check its tag, and unsubscribe its contact
    from everything (see the module's docstring)."""
    # The email package records what it cannot decode as defects; it does not raise.
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    match = _SUBJECT_RE.search(str(headers.get("Subject", "")))
    if match is None:
        return MailRefusal.NO_CODE
    delivery_id, tag = int(match.group(1)), match.group(2).lower()
    if not verp_signer().check(delivery_id, tag):
        return MailRefusal.FORGED
    row = (
        Delivery.objects.filter(pk=delivery_id)
        .values("campaign_id", "contact_id", "email_hash")
        .first()
    )
    if row is None:
        return MailRefusal.UNKNOWN
    # An erased contact's row has no contact id any more: its address hash is still suppressed.
    target = unsubscribe_target(row["contact_id"] or 0, row["email_hash"])
    return unsubscribe(
        target, purposes=None, channel="mailto", ip=peer or None, source_ref=str(row["campaign_id"])
    )
