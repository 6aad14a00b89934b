"""RFC 8058 one-click unsubscribe: a POST without cookies unsubscribes at once, answers 200
without a redirect and is idempotent; the page's own form keeps its CSRF protection."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from essaim.lib.postgres import conninfo
from essaim.people.models import Consent, Contact, ContactEvent, Purpose, Suppression
from essaim.people.services.suppression import UNSUBSCRIBE_CHANNEL
from essaim.people.services.unsubscribe import unsubscribe_token
from essaim.people.tests.factories import ImportedContactFactory

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def make_contact() -> Contact:
    return ImportedContactFactory.create(
        email="Marie.Curie@exemple.fr", purposes=(Purpose.NEWS, Purpose.MOBILIZATION)
    )


@pytest.fixture
def contact(db: Any) -> Contact:
    return make_contact()


def page(contact: Contact) -> str:
    return reverse("public:unsubscribe", kwargs={"token": unsubscribe_token(contact)})


def mail_client() -> Client:
    """What a mailbox provider is: no cookie, no CSRF token, and Django's CSRF check on."""
    return Client(enforce_csrf_checks=True)


def test_a_one_click_post_without_cookies_unsubscribes_from_everything(contact):
    response = mail_client().post(
        page(contact), ONE_CLICK, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="GoogleMail"
    )

    assert response.status_code == 200
    assert (
        Suppression.objects.filter(email_hash=contact.email_hash, reason="unsubscribe").count() == 1
    )
    assert set(Consent.objects.filter(contact=contact).values_list("status", flat=True)) == {
        "withdrawn"
    }
    event = ContactEvent.objects.get(contact=contact, kind="unsubscribed")
    assert (event.data["channel"], event.data["ip"], event.data["user_agent"]) == (
        "one_click",
        "203.0.113.9",
        "GoogleMail",
    )


def test_a_repeated_one_click_post_answers_200_and_adds_nothing(contact):
    mail_client().post(page(contact), ONE_CLICK)
    events = ContactEvent.objects.count()

    response = mail_client().post(page(contact), ONE_CLICK)

    assert response.status_code == 200
    assert ContactEvent.objects.count() == events
    assert Suppression.objects.count() == 1


def test_a_get_of_the_link_unsubscribes_nobody(contact):
    response = mail_client().get(page(contact))

    assert response.status_code == 200
    assert Suppression.objects.count() == 0
    assert set(Consent.objects.filter(contact=contact).values_list("status", flat=True)) == {
        "granted"
    }


def test_the_page_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(contact):
    response = mail_client().post(page(contact), {"choice": "all"})

    assert response.status_code == 403
    assert Suppression.objects.count() == 0
    assert ContactEvent.objects.filter(kind="unsubscribed").count() == 0


def test_a_post_with_another_value_is_not_a_one_click(contact):
    response = mail_client().post(page(contact), {"List-Unsubscribe": "Yes"})

    assert response.status_code == 403
    assert Suppression.objects.count() == 0


def test_a_one_click_post_with_a_forged_token_changes_nothing(contact):
    token = unsubscribe_token(contact)
    forged = reverse("public:unsubscribe", kwargs={"token": token[:-3] + "xyz"})

    response = mail_client().post(forged, ONE_CLICK)

    assert response.status_code == 400
    assert Suppression.objects.count() == 0
    assert ContactEvent.objects.filter(kind="unsubscribed").count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_unsubscribe_is_announced_to_listening_senders_at_its_commit() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    contact = make_contact()
    with psycopg.connect(conninfo(), autocommit=True) as listener:
        listener.execute(f"LISTEN {UNSUBSCRIBE_CHANNEL}")
        mail_client().post(page(contact), ONE_CLICK)
        heard = sorted(n.payload for n in listener.notifies(timeout=5, stop_after=3))

    assert heard == sorted(
        [
            f"h:{contact.email_hash}",
            f"w:mobilization:{contact.email_hash}",
            f"w:news:{contact.email_hash}",
        ]
    )
