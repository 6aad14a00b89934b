"""Bounce intake decisions: what a report received on a VERP address changes.

- hard bounce (the address does not exist) and complaint (the person marked us as spam):
  the address goes on the shared suppression list at once, every consent of the contact is
  withdrawn, the ledger row becomes `bounced` / `complained`;
- soft bounce: counted; the address is suppressed once BOUNCES_SOFT_LIMIT of them were received
  within BOUNCES_SOFT_WINDOW_DAYS;
- auto-replies, delay warnings: kept, nothing else;
- unparsed: kept and counted, for a person to read.

Each report is stored with its decision and its first BOUNCES_KEEP_BYTES bytes, every decision
goes on the contact's timeline, and the same report received twice changes nothing more (the
fingerprint is unique). See essaim.mailing.services.reports for how reports are read.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from essaim.mailing.message import VerpSigner
from essaim.mailing.models import BounceReport, Delivery
from essaim.mailing.services.reports import COMPLAINT, HARD, SOFT, Verdict, read_report
from essaim.people.models import Contact, Purpose, Suppression
from essaim.people.services.contacts import (
    record_event,
    suppress_hard_bounce,
    withdraw_consent,
)
from essaim.people.services.suppression import suppress_hash

D = Delivery.Status
# Ledger states a report may move, per decision: a bounce or a complaint proves the relay took
# the message, so it also settles a row whose fate was unknown, or not yet written back (held by
# its sender: `claimed`, or `pending` inside a claim; the VERP token's HMAC proves it was sent).
_BOUNCEABLE = (D.ACCEPTED, D.UNKNOWN, D.CLAIMED, D.PENDING)
_COMPLAINABLE = (*_BOUNCEABLE, D.BOUNCED)
# Timeline event kinds, per decision.
EVENTS = {
    HARD: "hard_bounce",
    SOFT: "soft_bounce",
    COMPLAINT: "complaint",
    BounceReport.Kind.IGNORED: "bounce_ignored",
    BounceReport.Kind.UNPARSED: "bounce_unparsed",
}


class Refusal(enum.Enum):
    """Why a recipient is refused at RCPT (the SMTP reply the server gives)."""

    DOMAIN = "550 5.1.2 Not a bounce domain of this server"
    FORGED = "550 5.7.1 Invalid bounce address"
    UNKNOWN = "550 5.1.1 No such bounce address"


@functools.cache
def _verp(domain: str, secret: str) -> VerpSigner:
    return VerpSigner(domain, secret)


def verp_signer() -> VerpSigner:
    """The VERP signer of the current settings (one per domain and secret)."""
    return _verp(settings.MAILING_VERP_DOMAIN, settings.SECRET_KEY)


def delivery_for_address(address: str) -> int | Refusal:
    """The ledger row a VERP address stands for, once its HMAC is checked; else why not."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if not local or domain.lower() != settings.MAILING_VERP_DOMAIN.lower():
        return Refusal.DOMAIN
    delivery_id = verp_signer().read(local.lower())
    if delivery_id is None:
        return Refusal.FORGED
    if not Delivery.objects.filter(pk=delivery_id).exists():
        return Refusal.UNKNOWN
    return delivery_id


def _fingerprint(delivery_id: int, raw: bytes, verdict: Verdict) -> str:
    # A report's Message-ID names it across a re-delivery (its Received lines differ); one
    # without is known by its bytes.
    if verdict.message_id:
        material = f"{delivery_id}\0{verdict.message_id}".encode()
    else:
        material = f"{delivery_id}\0".encode() + raw
    return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class Outcome:
    report: BounceReport
    created: bool  # False: the same report was already recorded, nothing changed


def record_report(*, delivery_id: int, raw: bytes, mail_from: str = "", peer: str = "") -> Outcome:
    """Store one received report for one ledger row and apply its decision (one transaction).
    Raises Delivery.DoesNotExist when the row is gone (the server checked it at RCPT)."""
    verdict = read_report(raw)
    fingerprint = _fingerprint(delivery_id, raw, verdict)
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        report, created = BounceReport.objects.get_or_create(
            fingerprint=fingerprint,
            defaults={
                "delivery": delivery,
                "campaign_id": delivery.campaign_id,
                "email_hash": delivery.email_hash,
                "kind": verdict.kind,
                "status": verdict.status[:16],
                "action": verdict.action[:16],
                "diagnostic": verdict.diagnostic[:500],
                "recipient": verdict.recipient[:254],
                "parser": verdict.parser[:20],
                "mail_from": mail_from[:254],
                "peer": peer[:64],
                "size": len(raw),
                "raw": raw[: settings.BOUNCES_KEEP_BYTES],
                "received_at": now,
            },
        )
        if created:
            _decide(report, delivery, now)
    return Outcome(report, created)


def _decide(report: BounceReport, delivery: Delivery, now: dt.datetime) -> None:
    note = f"campagne {delivery.campaign_id}, envoi {delivery.pk}: {report.status or report.kind}"
    if report.kind == HARD:
        # The same suppression, withdrawal and timeline entry as a 5.1.x refusal while sending.
        suppressed = suppress_hard_bounce(
            hashed=delivery.email_hash,
            contact_id=delivery.contact_id,
            note=note,
            event=_event_data(report, delivery),
            flag_new=True,
        )
        _move(delivery, to=D.BOUNCED, allowed=_BOUNCEABLE, report=report, now=now)
        _mark_suppressed(report, suppressed)
        return
    suppressed = False
    soft_count: int | None = None
    if report.kind == COMPLAINT:
        suppressed = suppress_hash(
            hashed=delivery.email_hash, reason=Suppression.Reason.COMPLAINT, note=note
        )
        _move(delivery, to=D.COMPLAINED, allowed=_COMPLAINABLE, report=report, now=now)
    elif report.kind == SOFT:
        window = now - dt.timedelta(days=settings.BOUNCES_SOFT_WINDOW_DAYS)
        soft_count = BounceReport.objects.filter(
            email_hash=delivery.email_hash, kind=SOFT, received_at__gt=window
        ).count()
        if soft_count >= settings.BOUNCES_SOFT_LIMIT:
            suppressed = suppress_hash(
                hashed=delivery.email_hash,
                reason=Suppression.Reason.HARD_BOUNCE,
                note=f"{note} ({soft_count} erreurs temporaires en "
                f"{settings.BOUNCES_SOFT_WINDOW_DAYS} jours)",
            )
    _mark_suppressed(report, suppressed)
    contact = (
        Contact.objects.filter(pk=delivery.contact_id).first() if delivery.contact_id else None
    )
    if contact is None:
        return  # erased since: the hash on the suppression list is all that is left
    if report.kind == COMPLAINT or suppressed:
        withdraw_consent(contact, purposes=Purpose.values, reason=report.kind)
    data = _event_data(report, delivery)
    if soft_count is not None:
        data["soft_bounces"] = soft_count
    if suppressed:
        data["suppressed"] = True
    record_event(contact, EVENTS[report.kind], **data)


def _mark_suppressed(report: BounceReport, suppressed: bool) -> None:
    if suppressed:
        BounceReport.objects.filter(pk=report.pk).update(suppressed=True)
        report.suppressed = True


def _event_data(report: BounceReport, delivery: Delivery) -> dict[str, object]:
    """What the contact's timeline keeps of a report."""
    data: dict[str, object] = {
        "campaign": delivery.campaign_id,
        "delivery": delivery.pk,
        "report": report.pk,
    }
    if report.status:
        data["status"] = report.status
    if report.action:
        data["action"] = report.action
    if report.diagnostic:
        data["diagnostic"] = report.diagnostic[:200]
    return data


def _move(
    delivery: Delivery,
    *,
    to: str,
    allowed: tuple[str, ...],
    report: BounceReport,
    now: dt.datetime,
) -> None:
    if delivery.status not in allowed:
        return
    reply = f"{report.status} {report.diagnostic}".strip() or report.kind
    Delivery.objects.filter(pk=delivery.pk, status__in=allowed).update(
        status=to,
        smtp_reply=reply[:200],
        next_attempt_at=None,
        lease_until=None,
        last_change_at=now,
    )
