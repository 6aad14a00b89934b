"""A personalized subject is shown to people, not its template syntax: the campaign and template
lists name each field ("[prénom, sinon « ami·e »]"), and a person's GDPR access report gives
the subject as they received it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from essaim.mailing.models import Delivery
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates
from essaim.mailing.subjects import readable_subject, subject_for
from essaim.mailing.tests.factories import CampaignFactory, accepted_campaign, make_audience
from essaim.people.models import Contact

pytestmark = pytest.mark.django_db
SUBJECT = 'Bonjour {{ first_name|default:"ami·e" }}, on compte sur vous'


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        (SUBJECT, "Bonjour [prénom, sinon « ami·e »], on compte sur vous"),
        ("{{ first_name }} : samedi", "[prénom] : samedi"),
        ("{{first_name}}{{ first_name }}", "[prénom][prénom]"),
        ("Sans champ", "Sans champ"),
        # Refused by today's parser (a link in a subject): shown as written, never an error.
        ("Lien {{ unsubscribe_url }}", "Lien {{ unsubscribe_url }}"),
        ("{% if x %}", "{% if x %}"),
    ],
)
def test_a_subject_reads_with_its_fields_named(subject: str, shown: str) -> None:
    assert readable_subject(subject) == shown


@pytest.mark.parametrize(
    ("first_name", "received"),
    [
        ("Zoé", "Bonjour Zoé, on compte sur vous"),
        ("", "Bonjour ami·e, on compte sur vous"),
        ("Eve\r\nBcc: x", "Bonjour Eve Bcc: x, on compte sur vous"),
    ],
)
def test_a_subject_for_a_recipient_is_the_one_they_received(first_name: str, received: str) -> None:
    assert subject_for(SUBJECT, first_name=first_name) == received


def test_the_campaign_and_template_lists_show_readable_subjects(hq_client: Client, hq: Any) -> None:
    campaign = CampaignFactory.create(name="Appel", subject=SUBJECT)
    templates.save_template(campaign=campaign, name="Modèle d'appel", user=hq)

    listing = hq_client.get("/campagnes/").content.decode()
    saved = hq_client.get("/campagnes/modeles/").content.decode()

    shown = "<td>Bonjour [prénom, sinon « ami·e »], on compte sur vous</td>"
    assert shown in listing and shown in saved
    assert "first_name" not in listing and "first_name" not in saved


def test_the_gdpr_report_gives_the_subject_as_the_person_received_it() -> None:
    from essaim.people.services.gdpr import access_report

    person, other = make_audience(2, prefix="marie", first_name="Marie")
    campaign = accepted_campaign([person, other], subject=SUBJECT)
    Delivery.objects.filter(contact=other).update(first_name="")

    assert [m["subject"] for m in access_report(person)["campaign_messages"]] == [
        "Bonjour Marie, on compte sur vous"
    ]
    assert [m["subject"] for m in access_report(other)["campaign_messages"]] == [
        "Bonjour ami·e, on compte sur vous"
    ]
    assert campaign.subject == SUBJECT


def test_the_lists_and_the_gdpr_report_show_the_subject_the_builder_sends(
    hq_client: Client,
) -> None:
    from essaim.people.services.gdpr import access_report

    # Control characters in the literal text and in a first name: the builder makes each one
    # line (header_text), and so do the pages that show the subject.
    subject = 'Rendez-vous\tsamedi\r\n{{ first_name|default:"ami·e" }} !'
    person, other = make_audience(2, prefix="eve", first_name="Eve\r\nBcc: x")
    campaign = accepted_campaign([person, other], name="Appel", subject=subject)
    Delivery.objects.filter(contact=other).update(first_name="")

    reported = [
        m["subject"]
        for contact in (person, other)
        for m in access_report(contact)["campaign_messages"]
    ]
    built = [
        svc.preview_campaign(campaign, Contact(email=d.email, first_name=d.first_name)).subject
        for d in Delivery.objects.filter(contact__in=[person, other]).order_by("contact_id")
    ]
    listing = hq_client.get("/campagnes/").content.decode()

    assert reported == built == ["Rendez-vous samedi Eve Bcc: x !", "Rendez-vous samedi ami·e !"]
    assert "<td>Rendez-vous samedi [prénom, sinon « ami·e »] !</td>" in listing
