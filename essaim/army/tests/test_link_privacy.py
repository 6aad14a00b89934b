"""Links of the army show no personal data: the "Je m'engage" confirmation link is sealed, and a
call's personal link, made to be forwarded, greets by first name at most while still
attributing the sign-up to its call and delivery."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.army.models import CallEvent, Volunteer
from essaim.army.services.signup import SALT, VolunteerSignup
from essaim.army.tests.call_helpers import launch, link_of, paris_segment
from essaim.army.tests.factories import CallFactory
from essaim.lib import sealing
from essaim.lib.tests.decoding import personal_data_in
from essaim.people.models import Consent, Contact, ContactEvent

ENGAGE = reverse("army_public:engage")
LINK_RE = re.compile(r"https?://\S+/je-m-engage/confirmer/([^/\s]+)/")
FORM = {
    "email": "louise.michel@exemple.fr",
    "first_name": "Louise",
    "last_name": "Michel",
    "postcode": "69003",
    "phone": "06 98 76 54 32",
    "roles": ["tchatcheur"],
    "weekly_hours": "4",
    "windows": ["17"],
    "skills": "",
    "languages": ["fr"],
}
PERSONAL = (
    "louise.michel@exemple.fr",
    "louise.michel",
    "Louise",
    "Michel",
    "69003",
    "0698765432",
    "698765432",
    "+33698765432",
    "198.51.100.4",
)


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


def confirmation_token(mail: Any) -> str:
    found = LINK_RE.search(str(mail.text))
    assert found is not None, mail.text
    return found[1]


def legacy_token() -> str:
    """A link as the earlier code made it: the request, signed and compressed, readable."""
    signup = VolunteerSignup(
        email="louise.michel@exemple.fr",
        first_name="Louise",
        last_name="Michel",
        postcode="69003",
        phone="+33698765432",
        roles=("tchatcheur",),
        weekly_hours=4,
        windows=1 << 17,
        skills=(),
        languages=("fr",),
        ip="198.51.100.4",
        user_agent="Firefox",
        requested_at=timezone.now(),
    )
    payload = asdict(signup) | {"requested_at": signup.requested_at.isoformat()}
    return signing.TimestampSigner(salt=SALT).sign_object(payload, compress=True)


def test_the_engage_confirmation_link_shows_no_personal_data_however_it_is_decoded(
    smtp_recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(ENGAGE, FORM, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Firefox")
    [mail] = smtp_recorder.messages
    token = confirmation_token(mail)
    assert personal_data_in(token, PERSONAL) == set()
    assert personal_data_in(legacy_token(), PERSONAL) >= {"louise.michel@exemple.fr", "69003"}
    response = Client().post(reverse("army_public:engage_confirm", kwargs={"token": token}))
    assert response.status_code == 302  # the account was created: logged in, to the profile
    contact = Volunteer.objects.select_related("contact").get().contact
    assert contact is not None and contact.postcode == "69003"


def test_an_engage_link_of_the_earlier_format_is_still_accepted(db):
    path = reverse("army_public:engage_confirm", kwargs={"token": legacy_token()})
    assert Client().get(path).status_code == 200
    assert Client().post(path).status_code == 302
    assert Volunteer.objects.get().user.email == "louise.michel@exemple.fr"


def test_a_sealed_link_of_the_base_sign_up_is_refused_by_the_engage_page(db):
    token = sealing.seal_object(
        {"email": "louise.michel@exemple.fr", "purposes": ["news"]},
        purpose="essaim.signup.confirmation",
    )
    path = reverse("army_public:engage_confirm", kwargs={"token": token})
    assert Client().post(path).status_code == 400
    assert Volunteer.objects.count() == 0


# --- A call's personal link ----------------------------------------------------------------


def test_a_call_link_shows_only_the_first_name_and_still_attributes_the_sign_up(
    hq, smtp_recorder, django_capture_on_commit_callbacks
):
    segment = paris_segment(("marie@exemple.fr", "Marie"))
    call = CallFactory.create(segment=segment, user=hq)
    [delivery] = launch(call)
    marie = Contact.objects.get(email="marie@exemple.fr")
    marie.last_name, marie.phone = "Curie", "+33612345678"
    marie.save()
    link = link_of(call, marie)
    token = link.split("?t=")[1]
    assert personal_data_in(token, ("marie@exemple.fr", "marie", "Curie", "75011")) == set()

    landing = Client().get(link).content.decode()
    assert "Bonjour Marie," in landing
    engage_url = re.search(r'id="call-engage" href="([^"]+)"', landing)
    assert engage_url is not None
    form_page = Client().get(engage_url[1].replace("&amp;", "&")).content.decode()
    for page in (landing, form_page):
        for personal in ("marie@exemple.fr", "Curie", "75011", "612345678"):
            assert personal not in page
    assert "Marie" not in form_page

    # Marie types her own details on the page her link opened: the sign-up is the call's,
    # and the delivery's, as before.
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            ENGAGE,
            {
                **FORM,
                "email": "marie@exemple.fr",
                "first_name": "Marie",
                "last_name": "Curie",
                "postcode": "75011",
                "appel": call.pk,
                "t": token,
            },
        )
    [mail] = smtp_recorder.to("marie@exemple.fr")
    confirmed = Client().post(
        reverse("army_public:engage_confirm", kwargs={"token": confirmation_token(mail)})
    )
    assert confirmed.status_code == 302
    consent = Consent.objects.get(contact=marie, purpose="volunteering")
    assert (consent.source, consent.source_ref) == (Consent.Source.CALL, f"call:{call.pk}")
    proof = ContactEvent.objects.get(contact=marie, kind="volunteer_signup_confirmed").data
    assert (proof["call"], proof["call_delivery"]) == (call.pk, delivery.pk)
    assert list(CallEvent.objects.order_by("id").values_list("contact", "kind")) == [
        (marie.pk, "visit"),
        (marie.pk, "signup"),
    ]
