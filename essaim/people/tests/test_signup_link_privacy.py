"""The sign-up's confirmation link shows no personal data, and links of the earlier, readable
format still work until they expire."""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.lib.tests.decoding import personal_data_in
from essaim.people.models import Consent, Contact
from essaim.people.services.signup import SIGNUP_SALT, SignupRequest

LINK_RE = re.compile(r"https?://\S+/inscription/confirmer/([^/\s]+)/")
FORM = {
    "email": "marie.curie@exemple.fr",
    "first_name": "Marie",
    "last_name": "Curie",
    "postcode": "75005",
    "phone": "06 12 34 56 78",
    "purposes": ["news"],
}
PERSONAL = (
    "marie.curie@exemple.fr",
    "marie.curie",
    "Marie",
    "Curie",
    "75005",
    "0612345678",
    "612345678",
    "06 12 34 56 78",
    "+33612345678",
    "198.51.100.4",
)


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


def sent_token(smtp_recorder: Any, django_capture_on_commit_callbacks: Any) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            reverse("public:signup"), FORM, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Firefox"
        )
    [mail] = smtp_recorder.messages
    found = LINK_RE.search(str(mail.text))
    assert found is not None, mail.text
    return found[1]


def legacy_token(**changes: Any) -> str:
    """A link as the earlier code made it: the request, signed and compressed, readable."""
    signup = SignupRequest(
        email="marie.curie@exemple.fr",
        first_name="Marie",
        last_name="Curie",
        postcode="75005",
        phone="+33612345678",
        purposes=("news",),
        ip="198.51.100.4",
        user_agent="Firefox",
        requested_at=timezone.now(),
    )
    payload = asdict(signup) | {"purposes": ["news"], "requested_at": timezone.now().isoformat()}
    return signing.TimestampSigner(salt=SIGNUP_SALT).sign_object(payload, compress=True)


def test_the_confirmation_link_shows_no_personal_data_however_it_is_decoded(
    smtp_recorder, django_capture_on_commit_callbacks
):
    token = sent_token(smtp_recorder, django_capture_on_commit_callbacks)
    assert personal_data_in(token, PERSONAL) == set()
    # The same readings find everything in a link of the earlier format: they do look.
    assert personal_data_in(legacy_token(), PERSONAL) >= {"marie.curie@exemple.fr", "75005"}
    # And the link still works.
    response = Client().post(reverse("public:signup_confirm", kwargs={"token": token}))
    assert response.status_code == 200
    assert Consent.objects.get(contact__email="marie.curie@exemple.fr").status == "granted"


def test_a_link_of_the_earlier_format_is_accepted_until_it_expires(db):
    path = reverse("public:signup_confirm", kwargs={"token": legacy_token()})
    page = Client().get(path)
    assert page.status_code == 200
    assert "Je confirme mon inscription" in page.content.decode()
    assert Client().post(path, HTTP_USER_AGENT="Thunderbird").status_code == 200
    contact = Contact.objects.get()
    assert (contact.email, contact.postcode) == ("marie.curie@exemple.fr", "75005")
    assert Consent.objects.get(contact=contact).status == "granted"


def test_an_expired_link_of_the_earlier_format_offers_to_sign_up_again(db, monkeypatch):
    four_days_ago = int(time.time()) - settings.SIGNUP_CONFIRM_MAX_AGE - 3600
    with monkeypatch.context() as patch:
        patch.setattr(
            signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(four_days_ago)
        )
        token = legacy_token()
    path = reverse("public:signup_confirm", kwargs={"token": token})
    for response in (Client().get(path), Client().post(path)):
        assert response.status_code == 410
        assert "Ce lien a expiré" in response.content.decode()
    assert Contact.objects.count() == 0
