"""A contact's timeline: its ContactEvents, plus the "import" entry that its creation by an
import stands for (Contact.import_batch: written with the row instead of as an event)."""

from __future__ import annotations

from essaim.people.models import Contact, ContactEvent, ImportBatch


def creation_entry(contact: Contact) -> ContactEvent | None:
    """The unsaved "import" event of a contact created by an import, as the import used to
    write it (at the creation time, by whoever launched the batch); None otherwise."""
    if contact.import_batch_id is None:
        return None
    batch = ImportBatch.objects.select_related("created_by").filter(pk=contact.import_batch_id)
    found = batch.first()
    return ContactEvent(
        contact=contact,
        at=contact.created_at,
        kind="import",
        actor=found.created_by if found else None,
        data={"batch": contact.import_batch_id},
    )


def newest_first(contact: Contact, limit: int) -> list[ContactEvent]:
    """At most `limit` entries, newest first (the contact page)."""
    events = list(contact.events.select_related("actor")[:limit])
    if len(events) < limit:
        # The creation comes before every event of the contact: last, if there is room.
        created = creation_entry(contact)
        if created is not None:
            events.append(created)
    return events


def oldest_first(contact: Contact) -> list[ContactEvent]:
    """Every entry, oldest first (the GDPR access export)."""
    created = creation_entry(contact)
    events = list(ContactEvent.objects.filter(contact=contact).order_by("at", "id"))
    return [created, *events] if created is not None else events
