"""Personalization fields in a campaign's subject: the body's whitelist and errors, rendered per
recipient by the message builder, plain text in a header that a contact's value cannot break."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from django.test import Client

from essaim.api.testing import api_for
from essaim.lib.testing import SmtpRecorder
from essaim.mailing.message import (
    CompiledMessage,
    Recipient,
    TemplateError,
    frame_data,
    parse_subject,
)
from essaim.mailing.models import Campaign
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services.campaigns import launch_campaign
from essaim.mailing.tests.factories import CampaignFactory
from essaim.mailing.tests.support import LiveLedger
from essaim.people.models import Contact
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

SUBJECT = 'Bonjour {{ first_name|default:"ami·e" }}, on compte sur vous'
FORM = {
    "name": "Appel",
    "from_address": "equipe@essaim.localhost",
    "subject": SUBJECT,
    "body_markdown": "Rendez-vous samedi.",
    "audience": "all",
}
INJECTION = "Eve\r\nBcc: pirate@evil.test"


def recipient(contact: Any, delivery_id: int = 41) -> Recipient:
    return Recipient(delivery_id, contact.pk, contact.email, contact.email_hash, contact.first_name)


def parse(raw: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw)


def head_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


# --- The builder ----------------------------------------------------------------------------


def test_each_recipient_gets_their_own_subject_and_the_default_without_a_first_name() -> None:
    compiled = CompiledMessage(CampaignFactory.create(subject=SUBJECT))
    marie = make_contact("marie@exemple.fr", first_name="Marie")
    zoe = make_contact("zoe@exemple.fr", first_name="Zoé")
    nameless = make_contact("x@exemple.fr", first_name="")

    raw = compiled.render(recipient(marie))

    assert b"\r\nSubject: Bonjour Marie, on compte sur vous\r\n" in raw
    assert parse(raw)["Subject"] == "Bonjour Marie, on compte sur vous"
    zoe_raw = compiled.render(recipient(zoe, 42))
    assert re.search(rb"\r\nSubject: =\?utf-8\?", zoe_raw)  # RFC 2047, as a static subject
    assert parse(zoe_raw)["Subject"] == "Bonjour Zoé, on compte sur vous"
    assert parse(compiled.render(recipient(nameless, 43)))["Subject"] == (
        "Bonjour ami·e, on compte sur vous"
    )
    # The same name twice (from the cache) gives the same header; the wire form is the render.
    assert compiled.render(recipient(marie, 44)).count(b"Subject: Bonjour Marie,") == 1
    for contact in (marie, zoe, nameless):
        assert compiled.wire(recipient(contact, 45)) == frame_data(
            compiled.render(recipient(contact, 45))
        )


def test_a_subject_without_fields_is_encoded_once_as_before() -> None:
    compiled = CompiledMessage(CampaignFactory.create(subject="Réunion à Lyon — samedi"))

    # Inside a static chunk, encoded at compile time: no per-recipient function for it.
    encoded = b"Subject: =?utf-8?b?UsOpdW5pb24gw6AgTHlvbiDigJQgc2FtZWRp?=\r\n"
    assert "subject" not in compiled._builders
    assert any(isinstance(part, bytes) and encoded in part for part in compiled._parts)
    raw = compiled.render(recipient(make_contact("a@exemple.fr", first_name="Léa")))
    assert encoded in raw


def test_html_in_a_first_name_stays_text_in_the_subject_and_is_escaped_in_the_title() -> None:
    campaign = svc.save_draft(
        user=None,
        name="Appel",
        from_address="equipe@essaim.localhost",
        subject=SUBJECT,
        body_markdown="Rendez-vous samedi.",
        audience_all=True,
    )
    louise = make_contact("louise@exemple.fr", first_name="<script>alert(1)</script>Louise")

    msg = parse(CompiledMessage(campaign).render(recipient(louise)))

    assert msg["Subject"] == "Bonjour <script>alert(1)</script>Louise, on compte sur vous"
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert (
        "<title>Bonjour &lt;script&gt;alert(1)&lt;/script&gt;Louise, on compte sur vous</title>"
        in html
    )
    assert "<script>" not in html


@pytest.mark.parametrize(
    "first_name", [INJECTION, "Eve\nBcc: pirate@evil.test", "Élise\r\nBcc: pirate@evil.test"]
)
def test_a_line_break_in_a_first_name_cannot_add_a_header(first_name: str) -> None:
    compiled = CompiledMessage(CampaignFactory.create(subject="Bonjour {{ first_name }}"))
    contact = make_contact("eve@exemple.fr", first_name=first_name)

    raw = compiled.render(recipient(contact))

    msg = parse(raw)
    assert msg["Bcc"] is None
    assert not any(line.lower().startswith(b"bcc") for line in head_lines(raw))
    assert msg["Subject"] == "Bonjour " + re.sub(r"[\r\n]+", " ", first_name)
    assert compiled.wire(recipient(contact)) == frame_data(raw)


def test_long_first_names_fold_the_subject_under_the_line_limit() -> None:
    subject = " ".join(["{{ first_name }}"] * 12)
    compiled = CompiledMessage(CampaignFactory.create(subject=subject))
    contact = make_contact("long@exemple.fr", first_name="X" * 150)

    raw = compiled.render(recipient(contact))

    assert max(len(line) for line in head_lines(raw)) <= 998
    assert parse(raw)["Subject"] == " ".join(["X" * 150] * 12)


@pytest.mark.parametrize(
    ("subject", "error"),
    [
        ("Bonjour {{ prenom }}", "champ inconnu : prenom"),
        ("{{ first_name.__class__ }}", "syntaxe non reconnue"),
        ("{% load x %} salut", "syntaxe non reconnue"),
        ("{{ first_name|upper }}", "syntaxe non reconnue"),
        ("Lien {{ unsubscribe_url }}", "unsubscribe_url ne peut pas figurer dans l'objet"),
        ("Lien {{ call_url }}", "call_url ne peut pas figurer dans l'objet"),
    ],
)
def test_the_subject_refuses_what_the_body_refuses_and_links(subject: str, error: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(error)):
        parse_subject(subject)


# --- The composer's form and the preview -----------------------------------------------------


def test_the_composer_saves_a_personalized_subject_and_the_preview_shows_it(
    hq_client: Client,
) -> None:
    make_contact("marie@exemple.fr", first_name="Marie")

    response = hq_client.post("/campagnes/nouvelle/", FORM)

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert campaign.subject == SUBJECT
    page = hq_client.get(f"/campagnes/{campaign.pk}/apercu/").content.decode()
    assert '<dd id="preview-subject">Bonjour ami·e, on compte sur vous</dd>' in page
    as_marie = hq_client.get(f"/campagnes/{campaign.pk}/apercu/?contact=marie@exemple.fr")
    assert '<dd id="preview-subject">Bonjour Marie, on compte sur vous</dd>' in (
        as_marie.content.decode()
    )


@pytest.mark.parametrize(
    ("subject", "error"),
    [
        ("Bonjour {{ prenom }}", "champ inconnu : prenom"),
        (
            "Votre lien {{ unsubscribe_url }}",
            "unsubscribe_url ne peut pas figurer dans l&#x27;objet",
        ),
    ],
)
def test_a_bad_field_in_the_subject_is_an_error_at_the_subject_and_saves_nothing(
    hq_client: Client, subject: str, error: str
) -> None:
    response = hq_client.post("/campagnes/nouvelle/", FORM | {"subject": subject})

    assert response.status_code == 400
    assert Campaign.objects.count() == 0
    form = response.context["form"]
    assert list(form.errors) == ["subject"]
    html = response.content.decode()
    # At the field (its error list, which the input points to), not above the form.
    assert html.count("has-error") == 1
    start = html.index("has-error")
    field = html[start : html.index('<div class="form-field', start)]
    assert 'name="subject"' in field
    assert error in field
    assert 'aria-invalid="true"' in field
    assert 'role="alert"' not in html.split("<form", 1)[1].split("</form>")[0]
    assert "ne peut pas contenir de champ personnalisé" not in html


def test_a_bad_field_in_the_body_is_an_error_at_the_body(hq_client: Client) -> None:
    response = hq_client.post("/campagnes/nouvelle/", FORM | {"body_markdown": "{{ secret }}"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"body_markdown": ["champ inconnu : secret"]}
    assert Campaign.objects.count() == 0


@pytest.mark.usefixtures("fresh_rate_limits")
def test_the_api_names_the_subject_as_the_field_at_fault(hq: Any) -> None:
    response = api_for(hq).post(
        "/api/v1/campaigns",
        {"subject": "Salut {{ nom }}", "body_markdown": "Texte", "segment": "all"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "subject", "message": "champ inconnu : nom"}
    ]
    assert Campaign.objects.count() == 0


# --- End to end: the real sender, a real SMTP server -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sender_mails_each_recipient_their_own_subject(
    live_ledger: LiveLedger, smtp_recorder: SmtpRecorder
) -> None:
    make_contact("marie@exemple.fr", first_name="Marie")
    make_contact("louise@exemple.fr", first_name="<b>Louise</b>")
    make_contact("eve@exemple.fr", first_name=INJECTION)
    make_contact("anonyme@exemple.fr", first_name="")
    campaign = CampaignFactory.create(subject=SUBJECT)
    launch_campaign(campaign, Contact.objects.all())

    live_ledger.run_sender(f"smtp://{smtp_recorder.host}:{smtp_recorder.port}")

    subjects = {m.rcpt_to[0]: m.message["Subject"] for m in smtp_recorder.messages}
    assert subjects == {
        "marie@exemple.fr": "Bonjour Marie, on compte sur vous",
        "louise@exemple.fr": "Bonjour <b>Louise</b>, on compte sur vous",
        "eve@exemple.fr": "Bonjour Eve Bcc: pirate@evil.test, on compte sur vous",
        "anonyme@exemple.fr": "Bonjour ami·e, on compte sur vous",
    }
    [eve] = smtp_recorder.to("eve@exemple.fr")
    assert eve.rcpt_to == ["eve@exemple.fr"]
    assert eve.message["Bcc"] is None
