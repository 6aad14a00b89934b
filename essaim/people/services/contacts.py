"""Writing one contact: create or update it with its consent, tags and timeline.

Bulk paths (CSV import, demo) have their own set-based code; this module serves the paths that
write one person at a time (sign-up confirmation, invitations, the API, HQ edits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from essaim.lib.text import (
    InvalidValue,
    clean_name,
    clean_postcode,
    normalize_email,
    normalize_phone,
)
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    Purpose,
    Suppression,
    Tag,
    email_hash,
)
from essaim.people.services.suppression import announce, is_suppressed, suppress_hash
from essaim.people.services.zones import zone_of


class SuppressedAddress(Exception):
    """The address is on the suppression list: it may not be added to the base again."""


class NoLegalBasis(ValueError):
    """A new contact was given no consent: no contact without a legal basis."""


class DuplicateAddress(Exception):
    """The address already belongs to a contact of the base (`contact_id`): a page that adds a
    person by hand says so at the field, rather than silently completing someone else."""

    def __init__(self, contact_id: int) -> None:
        super().__init__(contact_id)
        self.contact_id = contact_id


class InvalidField(InvalidValue):
    """One field of a contact is invalid: `field` names it (email, phone, postcode), `message`
    says why in words for a person. Its text, for the forms, leads with the field's French label
    ("code postal : code postal invalide")."""

    def __init__(self, field: str, label: str, message: str) -> None:
        super().__init__(f"{label} : {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ConsentGrant:
    """A consent to record for one purpose, with its proof."""

    purpose: str
    basis: str
    source: str
    status: str = Consent.Status.GRANTED
    source_ref: str = ""
    ip: str | None = None
    user_agent: str = ""
    confirmed_at: Any = None


@dataclass(frozen=True)
class ContactData:
    """Cleaned fields of one contact. Build it with `clean_contact_data` to get clear errors."""

    email: str
    email_key: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    postcode: str = ""
    departement: str = ""
    region: str = ""


def clean_contact_data(
    *, email: str, first_name: str = "", last_name: str = "", phone: str = "", postcode: str = ""
) -> ContactData:
    """Normalize and validate; raises InvalidField naming the field and the reason."""
    try:
        email_norm, key = normalize_email(email)
    except InvalidValue as exc:
        raise InvalidField("email", "e-mail", str(exc)) from exc
    try:
        phone_norm = normalize_phone(phone)
    except InvalidValue as exc:
        raise InvalidField("phone", "téléphone", str(exc)) from exc
    try:
        postcode_norm = clean_postcode(postcode)
    except InvalidValue as exc:
        raise InvalidField("postcode", "code postal", str(exc)) from exc
    departement = region = ""
    if postcode_norm:
        zone = zone_of(postcode_norm)
        if zone is None:
            raise InvalidField("postcode", "code postal", "ce code postal n'existe pas")
        departement, region = zone
    return ContactData(
        email=email_norm,
        email_key=key,
        first_name=clean_name(first_name),
        last_name=clean_name(last_name),
        phone=phone_norm,
        postcode=postcode_norm,
        departement=departement,
        region=region,
    )


def record_event(contact: Contact, kind: str, *, actor: Any = None, **data: Any) -> ContactEvent:
    return ContactEvent.objects.create(contact=contact, kind=kind, actor=actor, data=data)


_FILLABLE = ("first_name", "last_name", "phone", "postcode", "departement", "region")


def upsert_contact(
    *,
    data: ContactData,
    consents: Iterable[ConsentGrant],
    source: str,
    tags: Iterable[str] = (),
    actor: Any = None,
    overwrite: bool = False,
    only_new: bool = False,
) -> tuple[Contact, bool]:
    """Create the contact, or complete an existing one; returns (contact, created).

    With `only_new` (a person added by hand) an existing address raises DuplicateAddress and
    changes nothing.

    Existing non-empty fields are kept unless `overwrite` (an HQ edit or an API PUT says so).
    A new contact needs at least one consent (NoLegalBasis otherwise); an existing one may be
    updated with none.
    Consent only goes up here: a missing purpose is added, a pending one becomes granted, and a
    withdrawn one is left alone unless the grant is the person's own confirmed act (double
    opt-in), which is how a person who left comes back. Refuses suppressed addresses.
    """
    consents = list(consents)
    if is_suppressed(data.email_key):
        raise SuppressedAddress(data.email)
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(email_key=data.email_key).first()
        if contact is not None and only_new:
            raise DuplicateAddress(contact.pk)
        created = contact is None
        if contact is None:
            if not consents:
                raise NoLegalBasis("no contact without a legal basis: give at least one consent")
            try:
                with transaction.atomic():
                    contact = Contact.objects.create(
                        email=data.email,
                        email_key=data.email_key,
                        email_hash=email_hash(data.email_key),
                        source=source,
                        created_at=now,
                        updated_at=now,
                        **{f: getattr(data, f) for f in _FILLABLE},
                    )
            except IntegrityError:  # created by a concurrent request since our SELECT
                contact = Contact.objects.select_for_update().get(email_key=data.email_key)
                if only_new:
                    raise DuplicateAddress(contact.pk) from None
                created = False
        if created:
            record_event(contact, "created", actor=actor, source=source)
        else:
            changed = [
                f
                for f in _FILLABLE
                if getattr(data, f)
                and getattr(contact, f) != getattr(data, f)
                and (overwrite or not getattr(contact, f))
            ]
            if changed:
                before = {f: getattr(contact, f) for f in changed}
                for f in changed:
                    setattr(contact, f, getattr(data, f))
                contact.updated_at = now
                contact.save(update_fields=[*changed, "updated_at"])
                record_event(contact, "updated", actor=actor, fields=changed, before=before)
        for grant in consents:
            _raise_consent(contact, grant, actor=actor, now=now)
        add_tags(contact, tags)
    return contact, created


def edit_contact(
    *,
    contact: Contact,
    data: ContactData,
    tags: Iterable[str] | None = None,
    consents: Iterable[ConsentGrant] = (),
    actor: Any = None,
) -> list[str]:
    """An edit of one contact by hand (HQ's contact page). Unlike `upsert_contact`, every field
    takes the given value, blanks included: the page shows them all, so an emptied field is
    meant. A new address must belong to nobody else (DuplicateAddress) and not be suppressed
    (SuppressedAddress); `tags`, when given, become the contact's tags exactly; consent only
    goes up, as everywhere. Returns the names of the fields that changed ("tags" among them),
    which the timeline records with their former values."""
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        changed = [f for f in ("email", *_FILLABLE) if getattr(contact, f) != getattr(data, f)]
        before = {f: getattr(contact, f) for f in changed}
        if data.email_key != contact.email_key:
            if is_suppressed(data.email_key):
                raise SuppressedAddress(data.email)
            _refuse_taken(data.email_key)
            contact.email_key = data.email_key
            contact.email_hash = email_hash(data.email_key)
            changed_columns = [*changed, "email_key", "email_hash"]
        else:
            changed_columns = list(changed)
        if changed:
            for f in changed:
                setattr(contact, f, getattr(data, f))
            contact.updated_at = now
            try:
                with transaction.atomic():
                    contact.save(update_fields=[*changed_columns, "updated_at"])
            except IntegrityError:  # the address was given to someone else since the check
                _refuse_taken(data.email_key)
                raise
        if tags is not None and set_tags(contact, tags):
            changed.append("tags")
        if changed:
            record_event(contact, "updated", actor=actor, fields=changed, before=before)
        for grant in consents:
            _raise_consent(contact, grant, actor=actor, now=now)
    return changed


def _refuse_taken(email_key: str) -> None:
    other = Contact.objects.filter(email_key=email_key).values_list("pk", flat=True).first()
    if other is not None:
        raise DuplicateAddress(other)


def _raise_consent(contact: Contact, grant: ConsentGrant, *, actor: Any, now: Any) -> None:
    existing = Consent.objects.filter(contact=contact, purpose=grant.purpose).first()
    proof = {
        "basis": grant.basis,
        "source": grant.source,
        "source_ref": grant.source_ref,
        "ip": grant.ip,
        "user_agent": grant.user_agent,
        "confirmed_at": grant.confirmed_at,
    }
    if existing is None:
        Consent.objects.create(
            contact=contact,
            purpose=grant.purpose,
            status=grant.status,
            created_at=now,
            updated_at=now,
            **proof,
        )
    elif existing.status == grant.status or existing.status == Consent.Status.GRANTED:
        return
    elif existing.status == Consent.Status.WITHDRAWN and grant.confirmed_at is None:
        return  # only the person's own confirmed act brings a withdrawn consent back
    elif grant.status == Consent.Status.PENDING:
        return
    else:
        for key, value in proof.items():
            setattr(existing, key, value)
        existing.status = grant.status
        existing.withdrawn_at = None
        existing.withdrawn_reason = ""
        existing.updated_at = now
        existing.save()
    record_event(
        contact,
        "consent",
        actor=actor,
        purpose=grant.purpose,
        status=grant.status,
        basis=grant.basis,
        source=grant.source,
        source_ref=grant.source_ref,
    )


def add_tags(contact: Contact, names: Iterable[str]) -> None:
    wanted = sorted({clean_name(n, 64) for n in names if clean_name(n, 64)})
    if not wanted:
        return
    Tag.objects.bulk_create([Tag(name=n) for n in wanted], ignore_conflicts=True)
    ContactTag.objects.bulk_create(
        [ContactTag(contact=contact, tag=t) for t in Tag.objects.filter(name__in=wanted)],
        ignore_conflicts=True,
    )


def set_tags(contact: Contact, names: Iterable[str]) -> bool:
    """Make `names` the contact's tags exactly (missing tags are created); True if any changed."""
    wanted = {clean_name(n, 64) for n in names} - {""}
    current = dict(ContactTag.objects.filter(contact=contact).values_list("tag__name", "pk"))
    removed = [pk for name, pk in current.items() if name not in wanted]
    if removed:
        ContactTag.objects.filter(pk__in=removed).delete()
    added = wanted - set(current)
    add_tags(contact, added)
    return bool(removed or added)


def withdraw_consent(
    contact: Contact, *, purposes: Iterable[str], reason: str, actor: Any = None
) -> list[str]:
    """Withdraw consent for `purposes` (the person's own act, or a bounce/complaint).
    Returns the purposes that actually changed."""
    now = timezone.now()
    changed: list[str] = []
    with transaction.atomic():
        for consent in (
            Consent.objects.select_for_update()
            .filter(contact=contact, purpose__in=list(purposes))
            .exclude(status=Consent.Status.WITHDRAWN)
        ):
            consent.status = Consent.Status.WITHDRAWN
            consent.withdrawn_at = now
            consent.withdrawn_reason = reason
            consent.updated_at = now
            consent.save(update_fields=["status", "withdrawn_at", "withdrawn_reason", "updated_at"])
            changed.append(consent.purpose)
        if changed:
            record_event(contact, "consent_withdrawn", actor=actor, purposes=changed, reason=reason)
            announce([f"w:{purpose}:{contact.email_hash}" for purpose in changed])
    return changed


def suppress_hard_bounce(
    *,
    hashed: str,
    contact_id: int | None,
    note: str,
    event: dict[str, Any],
    flag_new: bool = False,
) -> bool:
    """A hard bounce (the address does not exist), whether the relay refused it while sending
    (essaim.mailing.sender.ledger) or a report came back to a VERP address later
    (essaim.mailing.services.bounces): the address goes on the suppression list for every
    channel, every consent of the contact is withdrawn and its timeline says why. `event` holds
    what the channel knows (the SMTP reply, or the report); with `flag_new` it also says
    `suppressed: True` when the address was not on the list yet, as the report intake shows.
    True if the address was not on the list yet."""
    with transaction.atomic():
        suppressed = suppress_hash(hashed=hashed, reason=Suppression.Reason.HARD_BOUNCE, note=note)
        contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
        if contact is not None:  # else erased since: the hash on the list is all that is left
            withdraw_consent(contact, purposes=Purpose.values, reason="hard_bounce")
            if flag_new and suppressed:
                event = {**event, "suppressed": True}
            record_event(contact, "hard_bounce", **event)
    return suppressed
