"""Test factories for the contact base (factory_boy). Other features may add theirs here.

`make_contact(...)` is the short way: a contact with its consents and tags in one call, written
as the sign-up and import services will write them (normalized address, key and hash, zone
columns filled from the postcode). ImportedContactFactory and ImportBatchFactory go through the
services themselves (the contacts service, the import's create_batch), for the tests whose
subject follows from what those write: the timeline, the import's inspection of its file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import factory
from django.utils import timezone

from essaim.lib.text import normalize_email
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    ImportBatch,
    Purpose,
    Segment,
    Tag,
    email_hash,
)
from essaim.people.services.contacts import ConsentGrant, clean_contact_data, upsert_contact
from essaim.people.services.imports import create_batch

# A handful of real postcodes, so that tests do not depend on reading the zones file.
ZONES_BY_POSTCODE = {
    "75011": ("75", "11"),
    "75020": ("75", "11"),
    "93100": ("93", "11"),
    "69003": ("69", "84"),
    "69100": ("69", "84"),
    "13001": ("13", "93"),
    "35000": ("35", "53"),
}


class TagFactory(factory.django.DjangoModelFactory[Tag]):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"étiquette-{n}")


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@exemple.fr")
    email_key = factory.LazyAttribute(lambda o: normalize_email(o.email)[1])
    email_hash = factory.LazyAttribute(lambda o: email_hash(o.email_key))
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    phone = ""
    postcode = "75011"
    departement = factory.LazyAttribute(lambda o: ZONES_BY_POSTCODE.get(o.postcode, ("", ""))[0])
    region = factory.LazyAttribute(lambda o: ZONES_BY_POSTCODE.get(o.postcode, ("", ""))[1])
    source = "test"


class ConsentFactory(factory.django.DjangoModelFactory[Consent]):
    class Meta:
        model = Consent

    contact = factory.SubFactory(ContactFactory)
    purpose = "news"
    status = Consent.Status.GRANTED
    basis = Consent.Basis.EXPLICIT_CONSENT
    source = Consent.Source.SIGNUP_FORM
    source_ref = "formulaire-test"
    confirmed_at = factory.LazyFunction(timezone.now)


class SegmentFactory(factory.django.DjangoModelFactory[Segment]):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    definition = factory.LazyFunction(lambda: {"version": 1})


class ContactEventFactory(factory.django.DjangoModelFactory[ContactEvent]):
    class Meta:
        model = ContactEvent

    contact = factory.SubFactory(ContactFactory)
    kind = "import"


class ImportedContactFactory(factory.Factory[Contact]):
    """A contact as an import writes it, through the contacts service (upsert_contact): the
    address normalized, a consent of basis "membership" for each of `purposes`, the tags, and
    the timeline events the service records."""

    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@exemple.fr")
    first_name = ""
    postcode = ""
    purposes: Sequence[str] = (Purpose.NEWS,)
    source_ref = "1"  # the batch, as the consent's proof
    tags: Sequence[str] = ()

    @classmethod
    def _create(cls, model_class: type[Contact], *args: Any, **kwargs: Any) -> Contact:
        grants = [
            ConsentGrant(
                purpose=purpose,
                basis="membership",
                source="import",
                source_ref=kwargs["source_ref"],
            )
            for purpose in kwargs["purposes"]
        ]
        data = clean_contact_data(
            email=kwargs["email"], first_name=kwargs["first_name"], postcode=kwargs["postcode"]
        )
        contact, _ = upsert_contact(
            data=data, consents=grants, source="import", tags=list(kwargs["tags"])
        )
        return contact


class ImportBatchFactory(factory.Factory[ImportBatch]):
    """A batch recorded by the import's create_batch (status UPLOADED, the file inspected and its
    columns guessed), ready for run_batch. `path`: the CSV file, which must exist."""

    class Meta:
        model = ImportBatch

    filename = factory.LazyAttribute(lambda o: o.path.name)
    basis = "explicit_consent"
    purposes: Sequence[str] = ("news",)
    source = "meeting"
    tags: Sequence[str] = ()
    created_by = None

    @classmethod
    def _create(cls, model_class: type[ImportBatch], *args: Any, **kwargs: Any) -> ImportBatch:
        return create_batch(**kwargs)


def make_contact(
    email: str | None = None,
    *,
    consents: Mapping[str, str] | None = None,
    tags: Iterable[str | Tag] = (),
    **fields: Any,
) -> Contact:
    """A contact with consents (`{"news": "granted"}`; default: news granted) and tags (names
    or Tag objects, created when missing)."""
    if email is not None:
        fields["email"] = email
    contact = ContactFactory.create(**fields)
    for purpose, status in (consents if consents is not None else {"news": "granted"}).items():
        ConsentFactory.create(
            contact=contact,
            purpose=purpose,
            status=status,
            confirmed_at=timezone.now() if status == Consent.Status.GRANTED else None,
            withdrawn_at=timezone.now() if status == Consent.Status.WITHDRAWN else None,
        )
    for tag in tags:
        tag_obj = tag if isinstance(tag, Tag) else TagFactory.create(name=tag)
        ContactTag.objects.create(contact=contact, tag=tag_obj)
    return contact
