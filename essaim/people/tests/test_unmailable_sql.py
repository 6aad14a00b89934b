"""The SQL condition that other apps' raw statements use to leave out whom people may not mail
(essaim.people.services.suppression.unmailable_sql), evaluated by the database itself."""

from __future__ import annotations

import pytest
from django.db import connection

from essaim.people.models import Consent, Contact, Suppression
from essaim.people.services.suppression import unmailable_sql
from essaim.people.tests.factories import ConsentFactory, ContactFactory

pytestmark = pytest.mark.django_db

# The same shape as a caller's: a row of values standing for a table of its own.
CONDITION = unmailable_sql(email_hash="r.email_hash", contact_id="r.contact_id", purpose="%s")


def unmailable(email_hash: str, contact_id: int | None, purpose: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {CONDITION} FROM (SELECT CAST(%s AS varchar(64)) AS email_hash, "  # noqa: S608
            "CAST(%s AS bigint) AS contact_id) AS r",
            [purpose, email_hash, contact_id],  # the condition's parameter comes first
        )
        row = cursor.fetchone()
    assert row is not None
    return bool(row[0])


def granted(purpose: str = "news") -> Contact:
    return ConsentFactory.create(purpose=purpose).contact


def test_a_contact_who_granted_the_purpose_may_be_mailed() -> None:
    contact = granted()
    assert unmailable(contact.email_hash, contact.pk, "news") is False


def test_a_contact_without_a_granted_consent_for_the_purpose_may_not() -> None:
    contact = granted("news")
    assert unmailable(contact.email_hash, contact.pk, "mobilization") is True
    Consent.objects.filter(contact=contact).update(status=Consent.Status.WITHDRAWN)
    assert unmailable(contact.email_hash, contact.pk, "news") is True
    Consent.objects.filter(contact=contact).update(status=Consent.Status.PENDING)
    assert unmailable(contact.email_hash, contact.pk, "news") is True
    bare = ContactFactory.create()
    assert unmailable(bare.email_hash, bare.pk, "news") is True


def test_a_suppressed_address_may_not_be_mailed_even_with_a_granted_consent() -> None:
    contact = granted()
    Suppression.objects.create(email_hash=contact.email_hash, reason="unsubscribe")
    assert unmailable(contact.email_hash, contact.pk, "news") is True


def test_without_a_contact_only_the_suppression_list_is_read() -> None:
    assert unmailable("0" * 64, None, "news") is False
    Suppression.objects.create(email_hash="0" * 64, reason="hard_bounce")
    assert unmailable("0" * 64, None, "news") is True
