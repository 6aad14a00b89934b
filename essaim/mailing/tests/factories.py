"""Test factories for mailing (factory_boy). `CampaignFactory(...)` is a draft campaign ready to
launch; `make_audience(n)` writes `n` mailable contacts in bulk (the sender's tests need
thousands); `launched_campaign(n)` and `accepted_campaign(contacts)` are a campaign with its
ledger rows, about to be sent or already accepted by the relay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from essaim.lib.text import normalize_email
from essaim.mailing.models import BlackoutWindow, Campaign, Delivery
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.services.campaigns import launch_campaign
from essaim.people.models import Consent, Contact
from essaim.people.tests.factories import ConsentFactory, ContactFactory


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    """A campaign as a test writes it straight to the table: a draft whose templates the sender
    renders from `body_markdown` (no composer, no identity check)."""

    class Meta:
        model = Campaign

    name = "Appel du 18"
    from_name = "Campagne Essaim"
    from_email = "equipe@campagne.test"
    reply_to = "contact@campagne.test"
    subject = "Nous avons besoin de vous"
    preheader = "Quatre jours pour convaincre"
    body_markdown = 'Bonjour {{ first_name|default:"ami·e" }},\n\nRendez-vous samedi.\n'


class BlackoutWindowFactory(factory.django.DjangoModelFactory[BlackoutWindow]):
    """A window open now, for an hour; national unless given `departements` or `regions`."""

    class Meta:
        model = BlackoutWindow

    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=1))
    reason = "silence électorale"


def make_audience(
    n: int,
    *,
    prefix: str = "r",
    domain: str = "exemple.fr",
    first_name: str = "Camille",
    consent: str | None = Consent.Status.GRANTED,
) -> list[Contact]:
    """`n` contacts `{prefix}{i}@{domain}` (i from 0, no postcode: outside every zone) with a
    news consent from an import, written in bulk."""
    now = timezone.now()
    contacts = []
    for i in range(n):
        address, key = normalize_email(f"{prefix}{i}@{domain}")
        contacts.append(
            ContactFactory.build(
                email=address,
                email_key=key,
                first_name=first_name,
                last_name=f"Nom{i}",
                postcode="",
                created_at=now,
                updated_at=now,
            )
        )
    created = Contact.objects.bulk_create(contacts, batch_size=2000)
    if consent is not None:
        Consent.objects.bulk_create(
            [
                ConsentFactory.build(
                    contact=contact,
                    status=consent,
                    source=Consent.Source.IMPORT,
                    source_ref="",
                    confirmed_at=None,
                    created_at=now,
                    updated_at=now,
                )
                for contact in created
            ],
            batch_size=2000,
        )
    return created


def launched_campaign(n: int, **fields: Any) -> Campaign:
    """A campaign launched to `n` new contacts (make_audience) and every contact already there."""
    make_audience(n)
    campaign = CampaignFactory.create(**fields)
    launch_campaign(campaign, Contact.objects.all())
    return campaign


def accepted_campaign(contacts: list[Contact], **fields: Any) -> Campaign:
    """A finished campaign whose messages to `contacts` the relay accepted (a row each)."""
    campaign = CampaignFactory.create(status=Campaign.Status.DONE, **fields)
    freeze_audience(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    Delivery.objects.filter(campaign=campaign).update(status=Delivery.Status.ACCEPTED)
    return campaign
