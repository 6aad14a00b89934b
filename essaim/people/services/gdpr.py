"""GDPR rights: access (everything about a person, as JSON) and erasure."""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from essaim.accounts.models import User
from essaim.accounts.services import audit
from essaim.people.models import Consent, Contact, Suppression
from essaim.people.services import timeline
from essaim.people.services.gdpr_sections import sections
from essaim.people.services.suppression import suppress, suppress_selection

# Contacts erased per transaction by erase_contacts: their ids are read (and the rows the
# deletion cascades to are collected) a chunk at a time.
ERASE_CHUNK: Final = 500


def access_report(contact: Contact) -> dict[str, Any]:
    """Everything Essaim holds about the person, for an art. 15 request: the base's own part,
    then each registered section's (essaim.people.services.gdpr_sections: the mailing ledger's, the
    army's)."""
    report: dict[str, Any] = {
        "contact": {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "postcode": contact.postcode,
            "departement": contact.departement,
            "region": contact.region,
            "source": contact.source,
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat(),
        },
        "tags": sorted(contact.tags.values_list("name", flat=True)),
        "consents": [
            {
                "purpose": c.purpose,
                "status": c.status,
                "basis": c.basis,
                "source": c.source,
                "source_ref": c.source_ref,
                "ip": c.ip,
                "user_agent": c.user_agent,
                "confirmed_at": c.confirmed_at.isoformat() if c.confirmed_at else None,
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                "created_at": c.created_at.isoformat(),
            }
            for c in Consent.objects.filter(contact=contact).order_by("purpose")
        ],
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "data": e.data}
            for e in timeline.oldest_first(contact)
        ],
    }
    for section in sections():
        if section.report is not None:
            report.update(section.report(contact_id=contact.pk, hashed=contact.email_hash))
    return report


def erase_contact(
    contact: Contact,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    **details: Any,
) -> str:
    """Delete the person's data (contact, consents, tags, timeline cascade) and keep only the
    hash of the address on the suppression list, so they are never imported or mailed again.
    Each registered section's erase step runs before the deletion (the mailing ledger keeps its
    rows, for the campaigns' counts, without the address: essaim.mailing.services.gdpr).

    The page, the API and the command all erase through here, and the `contact.erase` audit
    entry is written in the same transaction: an erasure that cannot be recorded does not
    happen. The entry keeps the hash, never the address; `actor`/`request` say who and from
    where, `details` what the channel adds (the API's token prefix, the command's
    via="command"). `contact` stays positional: the tests and sections erase with it alone.
    Returns the hash."""
    pk = contact.pk  # delete() clears it; the audit entry names the erased row
    with transaction.atomic():
        hashed = contact.email_hash
        suppress(email_key=contact.email_key, reason=Suppression.Reason.ERASURE)
        Suppression.objects.filter(email_hash=hashed).update(reason=Suppression.Reason.ERASURE)
        for section in sections():
            if section.erase is not None:
                section.erase(contact_id=pk, hashed=hashed)
        contact.delete()
        audit(
            action="contact.erase",
            actor=actor,
            request=request,
            object_type="people.contact",
            object_id=pk,
            email_hash=hashed,
            **details,
        )
    return hashed


def erase_contacts(
    contacts: QuerySet[Contact],
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    audited: bool = False,
    chunk_size: int = ERASE_CHUNK,
    **details: Any,
) -> int:
    """Erase every contact of `contacts` (a selection of the contact list, up to the whole
    base) as `erase_contact` erases one, set-based: per chunk of ids, the addresses go on the
    suppression list in one INSERT … SELECT, each section blanks its rows in a few statements
    (`erase_many`; a section without it is called per person), and one deletion cascades.

    One `contacts.erase` audit entry records the act, with `count` (the contacts selected when
    it starts) and `details` (the criteria); it is written in the first chunk's transaction, so
    nothing is erased unrecorded. `audited` says the caller has written it already (a queued
    erasure, recorded by the request that queued it). A chunk is its own transaction: a failure
    leaves the chunks before it erased and the rest untouched. Returns the number erased."""
    erased = 0
    last = 0
    record = not audited
    count = contacts.count() if record else 0
    while True:
        ids = list(
            contacts.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk_size]
        )
        if not ids and not record:
            break
        with transaction.atomic():
            if record:
                audit(
                    action="contacts.erase",
                    actor=actor,
                    request=request,
                    object_type="people.contact",
                    count=count,
                    **details,
                )
                record = False
            if ids:
                _erase_chunk(Contact.objects.filter(pk__in=ids))
        if not ids:
            break
        erased += len(ids)
        last = ids[-1]
    return erased


def _erase_chunk(chunk: QuerySet[Contact]) -> None:
    suppress_selection(chunk, reason=Suppression.Reason.ERASURE)
    for section in sections():
        if section.erase_many is not None:
            section.erase_many(contacts=chunk)
        elif section.erase is not None:
            for pk, hashed in chunk.values_list("pk", "email_hash"):
                section.erase(contact_id=pk, hashed=hashed)
    chunk.delete()
