"""Test factories for the contact base (factory_boy). Other features may add theirs here.

`make_contact(...)` is the short way: a contact with its consents and tags in one call, written
as the sign-up and import services will write them (normalized address, key and hash, zone
columns filled from the postcode).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import factory
from django.utils import timezone

from essaim.lib.text import normalize_email
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    Segment,
    Tag,
    email_hash,
)

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
