"""Public sign-up with double opt-in, through the real pages and a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from essaim.lib import sealing
from essaim.people.models import Consent, Contact, ContactEvent, Suppression
from essaim.people.services.contacts import withdraw_consent
from essaim.people.services.signup import SignupRequest, make_confirmation_token
from essaim.people.services.suppression import suppress
from essaim.people.tests.factories import ImportedContactFactory

SIGNUP = reverse("public:signup")
SENT = reverse("public:signup_sent")
LINK_RE = re.compile(r"(https?://\S+/inscription/confirmer/\S+/)")
BROWSER = "Mozilla/5.0 (Android 14; Mobile) Firefox/130.0"
FORM = {
    "email": "marie.curie@exemple.fr",
    "first_name": "Marie",
    "last_name": "Curie",
    "postcode": "75005",
    "phone": "06 12 34 56 78",
    "purposes": ["news", "volunteering"],
}


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def sign_up(django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    """POST the form as a visitor would; the confirmation mail is sent when the request commits."""

    def post(client: Client | None = None, ip: str = "198.51.100.4", **changes: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return (client or Client()).post(
                SIGNUP, {**FORM, **changes}, REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER
            )

    return post


def text_of(mail: Any) -> str:
    return str(mail.text).replace("\r\n", "\n")


def link_in(mail: Any) -> str:
    """The confirmation link of a mail, as a path for the test client."""
    url = LINK_RE.search(text_of(mail))
    assert url is not None, text_of(mail)
    assert url[1].startswith(f"{settings.SITE_URL}/inscription/confirmer/")
    return url[1].removeprefix(settings.SITE_URL)


def confirm(path: str, ip: str = "203.0.113.50") -> Any:
    return Client().post(path, REMOTE_ADDR=ip, HTTP_USER_AGENT="Thunderbird")


def signup_request(**changes: Any) -> SignupRequest:
    values: dict[str, Any] = {
        "email": "marie.curie@exemple.fr",
        "first_name": "Marie",
        "last_name": "Curie",
        "postcode": "75005",
        "phone": "+33612345678",
        "purposes": ("news",),
        "ip": "198.51.100.4",
        "user_agent": BROWSER,
        "requested_at": timezone.now(),
    }
    return SignupRequest(**{**values, **changes})


# --- The form ---------------------------------------------------------------------------------


def test_the_form_offers_every_purpose_unchecked_next_to_the_consent_statement(db):
    response = Client().get(SIGNUP)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'<input type="checkbox" name="purposes" value="(\w+)"', html) == [
        "news",
        "mobilization",
        "volunteering",
    ]
    assert " checked" not in html
    assert "RGPD, article 9" in html
    assert 'class="honeypot"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_signing_up_writes_nothing_and_mails_a_confirmation_link(sign_up, smtp_recorder):
    response = sign_up()
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert (Contact.objects.count(), ContactEvent.objects.count()) == (0, 0)
    [mail] = smtp_recorder.messages
    assert mail.rcpt_to == ["marie.curie@exemple.fr"]
    assert mail.message["Subject"] == "Confirmez votre inscription"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert text_of(mail).startswith("Bonjour Marie,\n\nVous avez demandé à recevoir nos messages.")
    assert "Ce lien est valable 3 jours.\n" in text_of(mail)
    link_in(mail)
    page = Client().get(SENT).content.decode()
    assert "Vérifiez votre boîte aux lettres" in page


def test_opening_the_link_shows_a_button_and_changes_nothing(sign_up, smtp_recorder):
    sign_up()
    response = Client().get(link_in(smtp_recorder.messages[0]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Je confirme mon inscription" in html
    assert "marie.curie@exemple.fr" in html
    assert Contact.objects.count() == 0


def test_confirming_creates_the_contact_with_explicit_consent_and_its_proof(sign_up, smtp_recorder):
    sign_up()
    response = confirm(link_in(smtp_recorder.messages[0]))
    assert response.status_code == 200
    assert "votre inscription est confirmée" in response.content.decode()
    contact = Contact.objects.get()
    assert (
        contact.email,
        contact.first_name,
        contact.last_name,
        contact.phone,
        contact.postcode,
        contact.departement,
        contact.source,
    ) == ("marie.curie@exemple.fr", "Marie", "Curie", "+33612345678", "75005", "75", "signup")
    consents = Consent.objects.filter(contact=contact).order_by("purpose")
    assert [
        (c.purpose, c.status, c.basis, c.source, c.source_ref, c.ip, c.user_agent) for c in consents
    ] == [
        (
            p,
            "granted",
            "explicit_consent",
            "signup_form",
            "signup-statement-v1",
            "198.51.100.4",
            BROWSER,
        )
        for p in ("news", "volunteering")
    ]
    assert all(c.confirmed_at is not None for c in consents)
    events = list(contact.events.order_by("id"))
    assert [e.kind for e in events] == ["created", "consent", "consent", "signup_confirmed"]
    proof = events[-1].data
    assert (proof["purposes"], proof["requested_ip"], proof["confirmed_ip"]) == (
        ["news", "volunteering"],
        "198.51.100.4",
        "203.0.113.50",
    )
    assert (proof["requested_user_agent"], proof["confirmed_user_agent"]) == (
        BROWSER,
        "Thunderbird",
    )


def test_confirming_twice_changes_nothing_the_second_time(sign_up, smtp_recorder):
    sign_up()
    path = link_in(smtp_recorder.messages[0])
    confirm(path)
    events = ContactEvent.objects.count()
    response = confirm(path)
    assert response.status_code == 200
    assert (Contact.objects.count(), ContactEvent.objects.count()) == (1, events)


# --- The same answer for everyone -------------------------------------------------------------


def test_a_known_address_gets_the_same_answer_and_a_new_confirmation(sign_up, smtp_recorder):
    known = ImportedContactFactory.create(email="marie.curie@exemple.fr")
    for_known = sign_up(email="marie.curie@exemple.fr")
    for_unknown = sign_up(email="pierre.curie@exemple.fr", ip="198.51.100.5")
    assert (for_known.status_code, for_known["Location"], for_known.content) == (
        for_unknown.status_code,
        for_unknown["Location"],
        for_unknown.content,
    )
    assert [m.rcpt_to for m in smtp_recorder.messages] == [
        ["marie.curie@exemple.fr"],
        ["pierre.curie@exemple.fr"],
    ]
    # Confirming again is how a subscriber adds a purpose; the imported consent stays as it was.
    confirm(link_in(smtp_recorder.messages[0]))
    assert dict(known.consents.values_list("purpose", "basis")) == {
        "news": "membership",
        "volunteering": "explicit_consent",
    }


def test_the_request_does_the_same_work_for_known_unknown_and_suppressed_addresses(
    db, smtp_recorder
):
    ImportedContactFactory.create(email="connue@exemple.fr")
    suppress(email_key="bannie@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    counts = []
    for number, email in enumerate(
        ["connue@exemple.fr", "inconnue@exemple.fr", "bannie@exemple.fr"]
    ):
        with CaptureQueriesContext(connection) as queries:
            response = Client().post(
                SIGNUP, {**FORM, "email": email}, REMOTE_ADDR=f"192.0.2.{number}"
            )
        assert response.status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]


def test_a_suppressed_address_gets_the_same_answer_and_no_mail(sign_up, smtp_recorder):
    suppress(email_key="marie.curie@exemple.fr", reason=Suppression.Reason.ERASURE)
    response = sign_up(email="Marie.Curie@EXEMPLE.fr")
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert smtp_recorder.messages == []
    assert Contact.objects.count() == 0


def test_an_address_suppressed_after_the_request_cannot_be_confirmed(sign_up, smtp_recorder):
    sign_up()
    suppress(email_key="marie.curie@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    response = confirm(link_in(smtp_recorder.messages[0]))
    assert response.status_code == 200
    assert "Inscription impossible" in response.content.decode()
    assert Contact.objects.count() == 0


def test_a_withdrawal_after_the_request_wins_over_the_older_link(sign_up, smtp_recorder):
    sign_up(purposes=["news"])
    path = link_in(smtp_recorder.messages[0])
    confirm(path)
    contact = Contact.objects.get()
    withdraw_consent(contact, purposes=["news"], reason="unsubscribe")
    confirm(path)
    assert contact.consents.get().status == "withdrawn"


def test_a_new_sign_up_brings_back_a_withdrawn_consent(sign_up, smtp_recorder):
    contact = ImportedContactFactory.create(email="marie.curie@exemple.fr")
    withdraw_consent(contact, purposes=["news"], reason="unsubscribe")
    sign_up(purposes=["news"])
    confirm(link_in(smtp_recorder.messages[0]))
    consent = contact.consents.get()
    assert (consent.status, consent.basis, consent.withdrawn_at) == (
        "granted",
        "explicit_consent",
        None,
    )


# --- Addresses ----------------------------------------------------------------------------------


def test_the_same_address_in_another_case_completes_the_same_contact(sign_up, smtp_recorder):
    contact = ImportedContactFactory.create(email="marie.curie@exemple.fr")
    sign_up(email="MARIE.CURIE@Exemple.FR")
    assert smtp_recorder.messages[0].rcpt_to == ["MARIE.CURIE@exemple.fr"]
    confirm(link_in(smtp_recorder.messages[0]))
    assert Contact.objects.get() == contact
    contact.refresh_from_db()
    assert (contact.email, contact.first_name, contact.postcode) == (
        "marie.curie@exemple.fr",
        "Marie",
        "75005",
    )


def test_a_plus_address_is_kept_as_typed(sign_up, smtp_recorder):
    sign_up(email="marie+campagne@exemple.fr")
    assert smtp_recorder.messages[0].rcpt_to == ["marie+campagne@exemple.fr"]
    confirm(link_in(smtp_recorder.messages[0]))
    assert Contact.objects.get().email == "marie+campagne@exemple.fr"


def test_an_international_domain_is_mailed_and_stored_in_its_ascii_form(sign_up, smtp_recorder):
    sign_up(email="marie@élysée.fr")
    assert smtp_recorder.messages[0].rcpt_to == ["marie@xn--lyse-9oad.fr"]
    confirm(link_in(smtp_recorder.messages[0]))
    assert Contact.objects.get().email_key == "marie@xn--lyse-9oad.fr"


# --- Bad input -------------------------------------------------------------------------------


def test_names_with_markup_are_kept_as_text_and_escaped_everywhere(sign_up, smtp_recorder):
    script = "<script>alert(1)</script>"
    sign_up(first_name=script, last_name='<img src=x onerror="alert(2)">')
    mail = smtp_recorder.messages[0]
    html_part = mail.message.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour &lt;script&gt;alert(1)&lt;/script&gt;," in html_part
    assert "<script>" not in html_part
    assert text_of(mail).startswith(f"Bonjour {script},\n")  # plain text: nothing to interpret
    path = link_in(mail)
    page = Client().get(path).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    confirm(path)
    assert Contact.objects.values_list("first_name", "last_name").get() == (
        script,
        '<img src=x onerror="alert(2)">',
    )


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"postcode": "00000"}, "postcode", "Le code postal 00000 n&#x27;existe pas."),
        ({"postcode": "9999"}, "postcode", "Le code postal 09999 n&#x27;existe pas."),
        ({"postcode": "750"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        # Not ASCII digits: a clear error, never a 500 nor a postcode in other digits.
        ({"postcode": "٧٥٠١١"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": "١٠٠٠"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": "²"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": "１２３４５"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": " 12"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": "-1"}, "postcode", "Un code postal s&#x27;écrit avec cinq chiffres."),
        ({"postcode": "1" * 30}, "postcode", "au plus 10 caractères"),
        ({"purposes": []}, "purposes", "Cochez au moins un sujet"),
        ({"email": "marie@exemple"}, "email", "Cette adresse e-mail n&#x27;est pas valide."),
        ({"email": "marie@@exemple.fr"}, "email", "Cette adresse e-mail n&#x27;est pas valide."),
        ({"phone": "12"}, "phone", "Ce numéro de téléphone n&#x27;est pas valide."),
        ({"first_name": "  \t "}, "first_name", "Ce champ est obligatoire."),
        ({"purposes": ["news", "spam"]}, "purposes", "Sélectionnez un choix valide."),
    ],
)
def test_bad_input_is_a_clear_form_error_and_sends_nothing(
    sign_up, smtp_recorder, changes, field, error
):
    response = sign_up(**changes)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert error in response.content.decode()
    assert smtp_recorder.messages == []


def test_a_postcode_is_optional_and_so_is_the_phone(sign_up, smtp_recorder):
    sign_up(postcode="", phone="")
    confirm(link_in(smtp_recorder.messages[0]))
    assert Contact.objects.values_list("postcode", "departement", "phone").get() == ("", "", "")


def test_the_honeypot_gets_the_success_page_and_nothing_happens(sign_up, smtp_recorder):
    response = sign_up(website="https://spam.example")
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert smtp_recorder.messages == []
    # Nor does it count against the address or the IP.
    assert sign_up().status_code == 302


def test_a_sign_up_without_csrf_token_is_forbidden(db, smtp_recorder):
    response = Client(enforce_csrf_checks=True).post(SIGNUP, FORM)
    assert response.status_code == 403
    assert smtp_recorder.messages == []


def test_a_flood_from_one_ip_gets_429_and_sends_nothing_more(sign_up, smtp_recorder, settings):
    settings.SIGNUP_RATE_LIMIT = "3/h"
    statuses = [sign_up(email=f"personne{n}@exemple.fr").status_code for n in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert len(smtp_recorder.messages) == 3
    flooded = sign_up(email="encore@exemple.fr")
    assert 0 < int(flooded["Retry-After"]) <= 3600
    html = flooded.content.decode()
    assert "<h1>Trop de demandes</h1>" in html
    # The generic 429 page's look (templates/429.html), with the sign-up's own words.
    assert '<p class="error-code">429</p>' in html
    assert "Nous avons reçu trop d'inscriptions depuis cette connexion" in html
    assert "Vous avez fait trop de demandes" not in html
    # Another machine is not affected.
    assert sign_up(email="autre@exemple.fr", ip="198.51.100.99").status_code == 302


def test_a_flood_for_one_address_gets_429_from_any_ip(sign_up, smtp_recorder, settings):
    settings.SIGNUP_RATE_LIMIT = "3/h"
    spellings = ["cible@exemple.fr", "CIBLE@exemple.fr", "Cible@Exemple.FR", "cible@exemple.fr"]
    statuses = [
        sign_up(email=email, ip=f"203.0.113.{n}").status_code for n, email in enumerate(spellings)
    ]
    assert statuses == [302, 302, 302, 429]
    assert len(smtp_recorder.to("cible@exemple.fr")) == 1
    assert len(smtp_recorder.messages) == 3


# --- Links -------------------------------------------------------------------------------------


def test_an_expired_link_offers_to_sign_up_again_and_writes_nothing(
    sign_up, smtp_recorder, settings
):
    sign_up()
    path = link_in(smtp_recorder.messages[0])
    settings.SIGNUP_CONFIRM_MAX_AGE = -1  # the link was made now: every age is beyond it
    for response in (Client().get(path), confirm(path)):
        assert response.status_code == 410
        html = response.content.decode()
        assert "Ce lien a expiré" in html
        assert f'href="{SIGNUP}"' in html
    assert Contact.objects.count() == 0


def test_a_forged_link_is_refused_and_writes_nothing(db):
    forged_signed = signing.TimestampSigner(key="not-our-key", salt="essaim.signup").sign_object(
        {"email": "x@exemple.fr", "purposes": ["news"]}
    )
    with override_settings(SECRET_KEY="not-our-key-but-long-enough-for-anyone-0123456789"):
        forged_sealed = make_confirmation_token(signup_request())
    for token in (forged_signed, forged_sealed, "n-importe-quoi", "a:b:c", "AAAA", "A" * 5000):
        path = reverse("public:signup_confirm", kwargs={"token": token})
        for response in (Client().get(path), confirm(path)):
            assert response.status_code == 400
            assert "Ce lien n&#x27;est pas valide" in response.content.decode()
    assert (Contact.objects.count(), ContactEvent.objects.count()) == (0, 0)


def test_a_tampered_payload_is_refused_and_writes_nothing(sign_up, smtp_recorder):
    sign_up()
    path = link_in(smtp_recorder.messages[0])
    token = path.removeprefix("/inscription/confirmer/").removesuffix("/")
    middle = len(token) // 2
    flipped = "B" if token[middle] != "B" else "C"
    for tampered in (
        token[:middle] + flipped + token[middle + 1 :],  # the ciphertext
        token[:3] + ("z" if token[3] != "z" else "y") + token[4:],  # the issue time
        token[:-2],  # truncated
    ):
        response = confirm(reverse("public:signup_confirm", kwargs={"token": tampered}))
        assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_a_link_made_for_another_purpose_is_refused(sign_up, smtp_recorder):
    other = signing.TimestampSigner(salt="essaim.unsubscribe").sign_object(
        {"email": "marie.curie@exemple.fr", "purposes": ["news"]}
    )
    sealed_other = sealing.seal_object(
        {"email": "marie.curie@exemple.fr", "purposes": ["news"]},
        purpose="essaim.army.signup.confirmation",
    )
    for token in (other, sealed_other):
        response = confirm(reverse("public:signup_confirm", kwargs={"token": token}))
        assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_a_person_who_left_everything_comes_back_by_confirming_a_new_sign_up(
    sign_up, smtp_recorder
):
    contact = ImportedContactFactory.create(email="marie.curie@exemple.fr")
    withdraw_consent(contact, purposes=["news"], reason="unsubscribe")
    suppress(email_key="marie.curie@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    sign_up(purposes=["news"])
    confirm(link_in(smtp_recorder.messages[0]))
    assert Suppression.objects.count() == 0
    assert contact.consents.get().status == "granted"
    assert contact.events.filter(kind="suppression_lifted").count() == 1


def test_an_erased_address_cannot_come_back_even_by_its_own_sign_up(sign_up, smtp_recorder):
    suppress(email_key="marie.curie@exemple.fr", reason=Suppression.Reason.ERASURE)
    sign_up(purposes=["news"])
    assert smtp_recorder.messages == []
    assert list(Suppression.objects.values_list("reason", flat=True)) == ["erasure"]
