"""Unsubscribe links: signed, without expiry, idempotent, on the contact's timeline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse

from essaim.people.models import Consent, Contact, ContactEvent, Purpose, Suppression
from essaim.people.services.gdpr import erase_contact
from essaim.people.services.unsubscribe import (
    InvalidUnsubscribeToken,
    read_unsubscribe_token,
    unsubscribe,
    unsubscribe_token,
    unsubscribe_url,
)
from essaim.people.tests.factories import ImportedContactFactory


@pytest.fixture
def contact(db: Any) -> Contact:
    return ImportedContactFactory.create(
        email="Marie.Curie@exemple.fr", purposes=(Purpose.NEWS, Purpose.MOBILIZATION)
    )


def page(contact: Contact) -> str:
    return reverse("public:unsubscribe", kwargs={"token": unsubscribe_token(contact)})


def post(path: str, choice: str) -> Any:
    return Client().post(path, {"choice": choice}, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="K9")


def statuses(contact: Contact) -> dict[str, str]:
    return dict(Consent.objects.filter(contact=contact).values_list("purpose", "status"))


def test_the_unsubscribe_url_is_absolute_and_carries_id_and_hash(contact):
    url = unsubscribe_url(contact)
    assert url.startswith(f"{settings.SITE_URL}/desinscription/")
    token = url.removeprefix(f"{settings.SITE_URL}/desinscription/").removesuffix("/")
    payload = signing.Signer(salt="essaim.unsubscribe").unsign_object(token)
    assert payload == {"c": contact.pk, "h": contact.email_hash}
    assert "marie" not in url.lower()


def test_the_page_offers_each_granted_purpose_and_everything_and_changes_nothing(contact):
    events = ContactEvent.objects.count()
    response = Client().get(page(contact))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'type="radio" name="choice" value="(\w+)"', html) == [
        "news",
        "mobilization",
        "all",
    ]
    assert "M•••@exemple.fr" in html
    assert "Marie.Curie@" not in html
    assert statuses(contact) == {"news": "granted", "mobilization": "granted"}
    assert ContactEvent.objects.count() == events


def test_leaving_one_purpose_withdraws_only_that_consent(contact):
    response = post(page(contact), "news")
    assert response.status_code == 200
    assert "vous ne recevrez plus de messages sur ce sujet" in response.content.decode()
    assert statuses(contact) == {"news": "withdrawn", "mobilization": "granted"}
    assert Consent.objects.get(contact=contact, purpose="news").withdrawn_reason == "unsubscribe"
    assert Suppression.objects.count() == 0
    event = contact.events.get(kind="unsubscribed")
    assert event.data == {
        "scope": ["news"],
        "withdrawn": ["news"],
        "suppressed": False,
        "channel": "page",
        "source_ref": "",
        "ip": "198.51.100.4",
        "user_agent": "K9",
    }
    assert list(Contact.objects.mailable("news")) == []
    assert list(Contact.objects.mailable("mobilization")) == [contact]


def test_leaving_everything_withdraws_every_consent_and_suppresses_the_address(contact):
    response = post(page(contact), "all")
    assert response.status_code == 200
    assert "vous ne recevrez plus aucun message" in response.content.decode()
    assert statuses(contact) == {"news": "withdrawn", "mobilization": "withdrawn"}
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (contact.email_hash, "unsubscribe")
    assert [e.kind for e in contact.events.order_by("id")][-2:] == [
        "consent_withdrawn",
        "unsubscribed",
    ]
    assert contact.events.get(kind="unsubscribed").data["scope"] == "all"
    # The link now says it is done, with nothing left to choose.
    again = Client().get(page(contact)).content.decode()
    assert "vous ne recevrez plus aucun message" in again
    assert 'name="choice"' not in again


def test_unsubscribing_twice_changes_nothing_the_second_time(contact):
    path = page(contact)
    post(path, "news")
    after_first = (ContactEvent.objects.count(), statuses(contact))
    for choice in ("news", "news"):
        assert post(path, choice).status_code == 200
    assert (ContactEvent.objects.count(), statuses(contact)) == after_first
    post(path, "all")
    events = ContactEvent.objects.count()
    assert post(path, "all").status_code == 200
    assert (ContactEvent.objects.count(), Suppression.objects.count()) == (events, 1)


def test_an_unknown_choice_is_a_form_error_and_changes_nothing(contact):
    events = ContactEvent.objects.count()
    for choice in ("", "spam"):
        response = post(page(contact), choice)
        assert response.status_code == 200
        assert list(response.context["form"].errors) == ["choice"]
    assert statuses(contact) == {"news": "granted", "mobilization": "granted"}
    assert ContactEvent.objects.count() == events


def test_a_forged_or_tampered_token_gets_400_and_changes_nothing(contact):
    genuine = unsubscribe_token(contact)
    forged = signing.Signer(key="not-our-key", salt="essaim.unsubscribe").sign_object(
        {"c": contact.pk, "h": contact.email_hash}
    )
    other_salt = signing.Signer(salt="essaim.signup").sign_object(
        {"c": contact.pk, "h": contact.email_hash}
    )
    tampered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    events = ContactEvent.objects.count()
    for token in (forged, other_salt, tampered, "n-importe-quoi"):
        path = reverse("public:unsubscribe", kwargs={"token": token})
        assert Client().get(path).status_code == 400
        response = post(path, "all")
        assert response.status_code == 400
        assert "Ce lien n&#x27;est pas valide" in response.content.decode()
        with pytest.raises(InvalidUnsubscribeToken):
            read_unsubscribe_token(token)
    assert statuses(contact) == {"news": "granted", "mobilization": "granted"}
    assert (Suppression.objects.count(), ContactEvent.objects.count()) == (0, events)


def test_a_token_does_not_reach_a_different_person_with_the_same_id(contact):
    stale = signing.Signer(salt="essaim.unsubscribe").sign_object({"c": contact.pk, "h": "0" * 64})
    target = read_unsubscribe_token(stale)
    assert target.contact is None
    unsubscribe(target, purposes=["news"], channel="page")
    assert statuses(contact) == {"news": "granted", "mobilization": "granted"}


def test_the_link_of_an_erased_contact_says_nothing_more_will_be_sent(contact):
    path = page(contact)
    erase_contact(contact)
    response = post(path, "all")
    assert response.status_code == 200
    assert "vous ne recevrez plus aucun message" in response.content.decode()
    assert list(Suppression.objects.values_list("reason", flat=True)) == ["erasure"]


def test_the_service_serves_a_one_click_unsubscribe_from_a_campaign(contact):
    target = read_unsubscribe_token(unsubscribe_token(contact))
    result = unsubscribe(target, purposes=None, channel="one_click", source_ref="campaign:12")
    assert (result.withdrawn, result.suppressed, result.changed) == (
        ["news", "mobilization"],
        True,
        True,
    )
    event = contact.events.get(kind="unsubscribed")
    assert (event.data["channel"], event.data["source_ref"]) == ("one_click", "campaign:12")
    again = unsubscribe(target, purposes=None, channel="one_click")
    assert (again.withdrawn, again.suppressed, again.changed) == ([], False, False)


def test_the_service_refuses_an_unknown_purpose(contact):
    with pytest.raises(ValueError, match="unknown purposes"):
        unsubscribe(
            read_unsubscribe_token(unsubscribe_token(contact)), purposes=["x"], channel="page"
        )
