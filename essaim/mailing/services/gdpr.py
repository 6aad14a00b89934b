"""The mailing ledger's part of the GDPR rights (a section of essaim.people.services.gdpr_sections,
registered by MailingConfig.ready): what the access report shows of it, and what an erasure
blanks."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, QuerySet, Value, When

from essaim.mailing.models import BounceReport, Delivery
from essaim.mailing.subjects import subject_for
from essaim.people.models import Contact


def access_section(*, contact_id: int, hashed: str) -> dict[str, Any]:
    """Every campaign message addressed to the person (the ledger's rows, with what the relay
    answered) and every delivery report or complaint received about them; the raw reports are
    summed up by size, since they may quote other people's addresses."""
    deliveries = (
        Delivery.objects.filter(contact_id=contact_id)
        .select_related("campaign")
        .order_by("campaign_id")
    )
    reports = BounceReport.objects.filter(email_hash=hashed).order_by("received_at", "id")
    return {
        "campaign_messages": [
            {
                "campaign": d.campaign_id,
                # As the person received it: the first name the message was sent with.
                "subject": subject_for(d.campaign.subject, first_name=d.first_name),
                "email": d.email,
                "first_name": d.first_name,
                "status": d.status,
                "attempts": d.attempts,
                "smtp_code": d.smtp_code,
                "smtp_reply": d.smtp_reply,
                "last_change_at": d.last_change_at.isoformat(),
            }
            for d in deliveries
        ],
        "delivery_reports": [
            {
                "campaign": r.campaign_id,
                "kind": r.kind,
                "status": r.status,
                "action": r.action,
                "diagnostic": r.diagnostic,
                "recipient": r.recipient,
                "suppressed": r.suppressed,
                "received_at": r.received_at.isoformat(),
                "size": r.size,
            }
            for r in reports
        ],
    }


def _blank_deliveries(deliveries: QuerySet[Delivery]) -> int:
    return deliveries.update(
        email="",
        first_name="",
        smtp_reply=Case(When(smtp_reply__contains="@", then=Value("")), default=F("smtp_reply")),
    )


def _blank_reports(reports: QuerySet[BounceReport]) -> int:
    return reports.update(raw=b"", recipient="", diagnostic="", mail_from="")


def blank_ledger_copies(*, contact_id: int, hashed: str) -> tuple[int, int]:
    """Blank the copies of a person's address the ledger holds, keeping every row so that the
    campaigns' counts stay right: delivery rows lose the address, the first name and an SMTP
    reply quoting an address; bounce reports lose the raw message, the reported recipient, the
    diagnostic and the envelope sender (an auto-reply's is the person's own address). Kind,
    status, campaign and the address hash (also on the suppression list) stay.
    Returns (delivery rows, reports) blanked. Run it inside the erasure's transaction."""
    deliveries = _blank_deliveries(Delivery.objects.filter(contact_id=contact_id))
    reports = _blank_reports(BounceReport.objects.filter(email_hash=hashed))
    return deliveries, reports


def blank_ledger_copies_of(*, contacts: QuerySet[Contact]) -> tuple[int, int]:
    """`blank_ledger_copies` for a chunk of a bulk erasure: two statements whatever its size."""
    deliveries = _blank_deliveries(Delivery.objects.filter(contact_id__in=contacts.values("pk")))
    reports = _blank_reports(
        BounceReport.objects.filter(email_hash__in=contacts.values("email_hash"))
    )
    return deliveries, reports
