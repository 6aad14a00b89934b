"""GDPR access and erasure: HQ's pages on a contact, and the operators' command."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import Contact, Suppression, email_hash
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import ImportedContactFactory

ADDRESS = "Marie.Curie@exemple.fr"


@pytest.fixture
def contact(db: Any) -> Contact:
    return ImportedContactFactory.create(
        email=ADDRESS, first_name="Marie", postcode="75005", source_ref="3", tags=["paris"]
    )


def access(contact: Contact) -> str:
    return reverse("people:contact_access", kwargs={"pk": contact.pk})


def erase(contact: Contact) -> str:
    return reverse("people:contact_erase", kwargs={"pk": contact.pk})


def test_hq_downloads_everything_held_as_json_and_the_export_is_audited(hq_client, hq, contact):
    response = hq_client.get(access(contact))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    report = json.loads(response.content)
    assert report == access_report(contact)
    assert (report["contact"]["email"], report["tags"]) == ("Marie.Curie@exemple.fr", ["paris"])
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        "contact.access_export",
        hq,
        "people.contact",
        str(contact.pk),
    )


def test_hq_is_asked_to_confirm_before_an_erasure(hq_client, contact):
    response = hq_client.get(erase(contact))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Effacer définitivement" in html
    assert access(contact) in html
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEvent.objects.count() == 0


def test_hq_erases_a_contact_and_the_audit_keeps_only_the_address_hash(hq_client, hq, contact):
    pk, hashed = contact.pk, contact.email_hash
    response = hq_client.post(erase(contact), follow=True)
    assert response.redirect_chain == [(reverse("people:contact_list"), 302)]
    assert f"Le contact n°{pk} a été effacé" in response.content.decode()
    assert Contact.objects.count() == 0
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (hashed, "erasure")
    # The erasure, then the read of the (now empty) contact list it redirects to.
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "contact.erase",
        "contacts.read",
    ]
    event = AuditEvent.objects.get(action="contact.erase")
    assert (event.action, event.actor, event.object_type, event.object_id, event.details) == (
        "contact.erase",
        hq,
        "people.contact",
        str(pk),
        {"email_hash": hashed},
    )
    stored = json.dumps(list(AuditEvent.objects.values()), default=str).lower()
    assert "marie" not in stored


def test_erasing_a_contact_that_is_gone_is_a_404(hq_client, contact):
    hq_client.post(erase(contact))
    assert hq_client.post(erase(contact)).status_code == 404
    assert hq_client.get(access(contact)).status_code == 404
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize("who", ["volunteer_client", "coordinator_client"])
def test_volunteers_and_coordinators_can_neither_export_nor_erase(request, who, contact):
    client = request.getfixturevalue(who)  # the coordinator is the one of Paris, the contact's zone
    assert client.get(access(contact)).status_code == 403
    assert client.get(erase(contact)).status_code == 403
    assert client.post(erase(contact)).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert (AuditEvent.objects.count(), Suppression.objects.count()) == (0, 0)


def test_an_anonymous_visitor_is_sent_to_login_and_nothing_changes(contact):
    client = Client()
    for response in (
        client.get(access(contact)),
        client.get(erase(contact)),
        client.post(erase(contact)),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert (AuditEvent.objects.count(), Suppression.objects.count()) == (0, 0)


def test_erasure_needs_a_post(hq_client, contact):
    assert hq_client.put(erase(contact)).status_code == 405
    assert hq_client.post(access(contact)).status_code == 405
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- The operators' command ---------------------------------------------------------------


def test_the_command_prints_the_access_report_and_audits_it(contact):
    out = StringIO()
    call_command("gdpr", "access", "marie.curie@EXEMPLE.FR", stdout=out)
    assert json.loads(out.getvalue()) == access_report(contact)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id, event.details) == (
        "contact.access_export",
        None,
        str(contact.pk),
        {"via": "command"},
    )


def test_the_command_erases_only_with_yes(contact):
    with pytest.raises(CommandError, match="--yes"):
        call_command("gdpr", "erase", ADDRESS, stdout=StringIO())
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEvent.objects.count() == 0
    out = StringIO()
    call_command("gdpr", "erase", ADDRESS, "--yes", stdout=out)
    hashed = email_hash("marie.curie@exemple.fr")
    assert out.getvalue() == (
        f"contact {contact.pk} erased; address hash {hashed} kept on the suppression list\n"
    )
    assert Contact.objects.count() == 0
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [(hashed, "erasure")]
    assert AuditEvent.objects.values_list("action", "details").get() == (
        "contact.erase",
        {"email_hash": hashed, "via": "command"},
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["access", "inconnue@exemple.fr"], "no contact with this address"),
        (["erase", "inconnue@exemple.fr", "--yes"], "no contact with this address"),
        (["access", "pas-une-adresse"], "invalid address"),
    ],
)
def test_the_command_refuses_an_unknown_or_invalid_address(contact, argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("gdpr", *argv, stdout=StringIO())
    assert (Contact.objects.count(), AuditEvent.objects.count()) == (1, 0)
