"""The mailing ledger's part of a GDPR erasure (called by essaim.people.services.gdpr)."""

from __future__ import annotations

from django.db.models import Case, F, Value, When

from essaim.mailing.models import BounceReport, Delivery


def blank_ledger_copies(*, contact_id: int, hashed: str) -> tuple[int, int]:
    """Blank the copies of a person's address the ledger holds, keeping every row so that the
    campaigns' counts stay right: delivery rows lose the address, the first name and an SMTP
    reply quoting an address; bounce reports lose the raw message, the reported recipient, the
    diagnostic and the envelope sender (an auto-reply's is the person's own address). Kind,
    status, campaign and the address hash (also on the suppression list) stay.
    Returns (delivery rows, reports) blanked. Run it inside the erasure's transaction."""
    deliveries = Delivery.objects.filter(contact_id=contact_id).update(
        email="",
        first_name="",
        smtp_reply=Case(When(smtp_reply__contains="@", then=Value("")), default=F("smtp_reply")),
    )
    reports = BounceReport.objects.filter(email_hash=hashed).update(
        raw=b"", recipient="", diagnostic="", mail_from=""
    )
    return deliveries, reports
