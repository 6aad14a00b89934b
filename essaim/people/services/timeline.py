"""A contact's timeline: its ContactEvents, plus the "import" entry that its creation by an
import stands for (Contact.import_batch: written with the row instead of as an event).

Each app that writes events on a contact registers their kinds' labels from its AppConfig.ready
(`register_event`), the way it registers its audit sentences; the keys of their data read
through essaim.accounts.services.vocabulary. A kind nobody registered still reads as words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext

from essaim.accounts.services.vocabulary import readable_details
from essaim.people.models import Contact, ContactEvent, ImportBatch


@dataclass(frozen=True)
class EventKind:
    label: str | Promise
    # Labels of data keys that mean something particular in this kind of event.
    details: Mapping[str, str | Promise] = field(default_factory=dict)


_kinds: dict[str, EventKind] = {}


def register_event(
    kind: str, label: str | Promise, *, details: Mapping[str, str | Promise] | None = None
) -> None:
    _kinds[kind] = EventKind(label, dict(details or {}))


def registered_kinds() -> set[str]:
    return set(_kinds)


def event_label(kind: str) -> str:
    known = _kinds.get(kind)
    if known is not None:
        return str(known.label)
    return gettext("Autre événement (%(kind)s)") % {"kind": kind.replace("_", " ")}


def event_details(event: ContactEvent) -> list[tuple[str, str]]:
    known = _kinds.get(event.kind)
    return readable_details(event.data or {}, labels=known.details if known else None)


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
