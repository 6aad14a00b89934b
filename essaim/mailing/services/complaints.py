"""Complaints sent to a fixed address: the feedback loops of large mailbox providers.

Some providers (Yahoo, Microsoft, AOL…) send their ARF reports (RFC 5965) to an address given
when the loop was set up, not to the VERP envelope sender. The `bounces` server accepts mail for
MAILING_COMPLAINTS_ADDRESS; this module finds which delivery of ours the report is about and
records it with essaim.mailing.services.bounces.record_report, the very call a complaint to a
VERP address goes through: the same suppression, ledger state and timeline, the same
idempotency.

The delivery is read from the reported message's signed codes only (see parse.read_feedback):
the VERP address of Original-Mail-From or Return-Path (its HMAC), the mailto: code of
List-Unsubscribe (the same HMAC), and the https link of List-Unsubscribe (a signed token naming
the contact) paired with the Message-ID's delivery id, which must belong to that contact.
Providers redact the recipient's address; none of these codes contains it. The Message-ID alone
is not signed and names nothing by itself: a forged report must not suppress whomever it likes.
Every code found must check out and all must name the same delivery, else the report is refused.
"""

from __future__ import annotations

import enum
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve

from essaim.mailing.message import UNSUBSCRIBE_URLCONF
from essaim.mailing.models import Delivery
from essaim.mailing.services.bounces import (
    Outcome,
    Refusal,
    delivery_for_address,
    record_report,
    verp_signer,
)
from essaim.mailing.services.reports import COMPLAINT, Feedback, read_feedback
from essaim.people.services.unsubscribe import InvalidUnsubscribeToken, read_unsubscribe_token


class ComplaintRefusal(enum.Enum):
    """Why a mail to the complaints address changes nothing (the SMTP reply to its DATA)."""

    NOT_ARF = (
        "550 5.6.0 Not a feedback report (RFC 5965: multipart/report; report-type=feedback-report)"
    )
    NOT_COMPLAINT = "550 5.6.0 Feedback type not handled here (abuse, fraud, virus, other)"
    NO_CODE = "550 5.6.0 The reported message carries no delivery code of ours"
    FORGED = "550 5.7.1 Invalid delivery code in the reported message"
    CONFLICT = "550 5.7.1 The reported message names more than one delivery"
    UNKNOWN = "550 5.1.1 No delivery of ours matches the reported message"


def is_complaints_address(address: str) -> bool:
    """Whether an RCPT address is MAILING_COMPLAINTS_ADDRESS (case-insensitive; an empty
    setting turns the address off)."""
    configured = settings.MAILING_COMPLAINTS_ADDRESS.strip().lower()
    return bool(configured) and address.strip().strip("<>").lower() == configured


def _link_token(url: str) -> str | None:
    """The token of one of our unsubscribe links, or None for any other URL."""
    path = urlsplit(url).path
    base = urlsplit(settings.SITE_URL).path.rstrip("/")
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    try:
        match = resolve(path, urlconf=UNSUBSCRIBE_URLCONF)
    except Resolver404:
        return None
    token = match.kwargs.get("token") if match.url_name == "unsubscribe" else None
    return str(token) if token else None


def delivery_of_report(feedback: Feedback) -> int | ComplaintRefusal:
    """The one delivery every signed code of the reported message names; else why not."""
    found: set[int] = set()
    forged = unknown = False
    for address in feedback.verp_addresses:
        result = delivery_for_address(address)
        if isinstance(result, int):
            found.add(result)
        elif result is Refusal.FORGED:
            forged = True
        elif result is Refusal.UNKNOWN:
            unknown = True
        # Refusal.DOMAIN: somebody else's envelope sender (a forwarder's), not a code of ours.
    signer = verp_signer()
    for delivery_id, tag in feedback.mailto_codes:
        if signer.check(delivery_id, tag):
            found.add(delivery_id)
        else:
            forged = True
    message_ids = {delivery_id: campaign_id for campaign_id, delivery_id in feedback.message_ids}
    for link in feedback.links:
        token = _link_token(link)
        if token is None:
            continue
        try:
            target = read_unsubscribe_token(token)
        except InvalidUnsubscribeToken:
            forged = True
            continue
        if not message_ids:
            unknown = True  # a signed person, but no message of theirs named
            continue
        rows = Delivery.objects.filter(pk__in=list(message_ids)).values_list(
            "pk", "campaign_id", "email_hash"
        )
        matched = [
            pk
            for pk, campaign_id, hashed in rows
            if message_ids[pk] == campaign_id and hashed == target.email_hash
        ]
        if matched:
            found.update(matched)
        elif rows:
            forged = True  # the Message-ID names a message that was not sent to this person
        else:
            unknown = True
    if forged:
        return ComplaintRefusal.FORGED
    if len(found) > 1:
        return ComplaintRefusal.CONFLICT
    if not found:
        return ComplaintRefusal.UNKNOWN if unknown else ComplaintRefusal.NO_CODE
    (delivery_id,) = found
    if not Delivery.objects.filter(pk=delivery_id).exists():
        return ComplaintRefusal.UNKNOWN
    return delivery_id


def complaint_by_mail(
    *, raw: bytes, mail_from: str = "", peer: str = ""
) -> Outcome | ComplaintRefusal:
    """Record an ARF report received at the complaints address as a complaint about the
    delivery it reports, exactly as one received at that delivery's VERP address; or say why
    it changes nothing."""
    feedback = read_feedback(raw)
    if feedback.verdict is None:
        return ComplaintRefusal.NOT_ARF
    if feedback.verdict.kind != COMPLAINT:
        return ComplaintRefusal.NOT_COMPLAINT
    found = delivery_of_report(feedback)
    if isinstance(found, ComplaintRefusal):
        return found
    try:
        return record_report(delivery_id=found, raw=raw, mail_from=mail_from, peer=peer)
    except Delivery.DoesNotExist:  # deleted between the look-up and the lock
        return ComplaintRefusal.UNKNOWN
