"""Contact page: fields, tags, consents with their proof, timeline; masking and the logged
"Révéler" for coordinators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.people.models import Consent, Contact, ContactEvent, ImportBatch
from essaim.people.services import gdpr
from essaim.people.tests.factories import ContactEventFactory, make_contact

pytestmark = pytest.mark.django_db


def detail(pk: int) -> str:
    return reverse("people:contact_detail", args=[pk])


def reveal(pk: int) -> str:
    return reverse("people:contact_reveal", args=[pk])


@pytest.fixture
def paris():
    contact = make_contact(
        "marie.dupont@gmail.com",
        first_name="Marie",
        last_name="Dupont",
        phone="+33612345678",
        postcode="75011",
        source="pétition-école",
        consents={"news": "granted", "mobilization": "withdrawn"},
        tags=["jeunes", "adhérent"],
    )
    Consent.objects.filter(contact=contact, purpose="news").update(
        source_ref="formulaire-accueil", ip="203.0.113.9"
    )
    Consent.objects.filter(contact=contact, purpose="mobilization").update(
        withdrawn_reason="unsubscribe"
    )
    return contact


@pytest.fixture
def lyon():
    return make_contact("jean@orange.fr", phone="+33698765432", postcode="69003")


def test_hq_sees_everything_in_clear_without_a_reveal_and_the_read_is_logged(hq, hq_client, paris):
    response = hq_client.get(detail(paris.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "marie.dupont@gmail.com" in html and "+33612345678" in html
    assert '<span class="badge">adhérent</span> <span class="badge">jeunes</span>' in html
    assert "Consentement explicite (art. 9.2.a)" in html
    assert "formulaire-accueil" in html and "203.0.113.9" in html
    assert '<span class="badge withdrawn">Retiré</span>' in html and "(Désinscription)" in html
    assert "Aucun consentement enregistré" in html  # volunteering
    assert "Révéler" not in html
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.actor) == ("contacts.read", str(paris.pk), hq)
    assert event.details == {"via": "web", "count": 1, "masked": False}


def test_coordinator_reading_a_masked_page_writes_no_read_entry(coordinator_client, paris):
    assert coordinator_client.get(detail(paris.pk)).status_code == 200
    assert AuditEvent.objects.count() == 0


def test_hq_reveal_is_a_plain_redirect_and_logs_nothing(hq_client, paris):
    response = hq_client.post(reveal(paris.pk))
    assert response.status_code == 302
    assert response["Location"] == detail(paris.pk)
    assert AuditEvent.objects.count() == 0
    assert not ContactEvent.objects.filter(kind="reveal").exists()


def test_timeline_lists_events_newest_first_with_their_author(hq_client, paris, coordinator):
    now = timezone.now()
    ContactEventFactory.create(contact=paris, kind="import", at=now - dt.timedelta(days=2))
    ContactEventFactory.create(contact=paris, kind="reveal", actor=coordinator, at=now)
    ContactEventFactory.create(
        contact=paris, kind="consent.withdrawn", at=now - dt.timedelta(days=1), data={"p": "x"}
    )
    page = hq_client.get(detail(paris.pk)).content.decode()
    html = page[page.index('<ol class="timeline">') :]
    positions = [
        html.index(label) for label in ("Coordonnées révélées", "Consentement retiré", "Import")
    ]
    assert positions == sorted(positions)
    assert "Coordonnées révélées</strong> · coord.paris@equipe.test" in html


def test_a_contact_created_by_an_import_shows_it_as_its_first_entry(hq_client, paris, hq):
    batch = ImportBatch.objects.create(
        created_by=hq, filename="f.csv", path="", basis="membership", source="s", size=1
    )
    Contact.objects.filter(pk=paris.pk).update(import_batch=batch)
    ContactEventFactory.create(contact=paris, kind="reveal", at=timezone.now())
    page = hq_client.get(detail(paris.pk)).content.decode()
    html = page[page.index('<ol class="timeline">') :]

    assert html.index("Coordonnées révélées") < html.index("Import</strong>")
    assert f'Import</strong> · {hq.email} <span class="hint">import : n° {batch.pk}</span>' in html
    access = gdpr.access_report(Contact.objects.get(pk=paris.pk))
    assert [(e["kind"], e["data"]) for e in access["timeline"]] == [
        ("import", {"batch": batch.pk}),
        ("reveal", {}),
    ]


def test_contact_page_takes_a_fixed_number_of_queries(hq_client, paris, django_assert_num_queries):
    ContactEventFactory.create_batch(5, contact=paris)
    # session, user, contact, consents, tags, events with their authors, the menu's counts, and
    # the audit entry of a page read in clear (the chain's last hash and the INSERT; one call on
    # PostgreSQL)
    audit = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(7 + audit):
        hq_client.get(detail(paris.pk))


def test_coordinator_sees_their_zone_masked_with_a_reveal_button(coordinator_client, paris):
    response = coordinator_client.get(detail(paris.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "m•••@g•••.com" in html and "+33 6 •• •• •• 78" in html
    assert "marie.dupont@gmail.com" not in html and "+33612345678" not in html
    assert f'action="{reveal(paris.pk)}"' in html and "Révéler" in html
    assert AuditEvent.objects.count() == 0


def test_reveal_shows_the_details_and_is_logged_twice(coordinator_client, coordinator, paris):
    response = coordinator_client.post(
        reveal(paris.pk), REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Firefox"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "marie.dupont@gmail.com" in html and "+33612345678" in html
    event = AuditEvent.objects.get()
    assert (
        event.action,
        event.actor,
        event.object_type,
        event.object_id,
        event.ip,
        event.user_agent,
    ) == ("contact.reveal", coordinator, "people.contact", str(paris.pk), "198.51.100.4", "Firefox")
    timeline = ContactEvent.objects.get(contact=paris)
    assert (timeline.kind, timeline.actor) == ("reveal", coordinator)


def test_htmx_reveal_answers_with_the_identity_fragment(coordinator_client, paris):
    response = coordinator_client.post(reveal(paris.pk), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.strip().startswith('<section id="identity"')
    assert "marie.dupont@gmail.com" in html and "<html" not in html
    assert AuditEvent.objects.filter(action="contact.reveal").count() == 1


def test_reveal_needs_post(coordinator_client, paris):
    assert coordinator_client.get(reveal(paris.pk)).status_code == 405
    assert AuditEvent.objects.count() == 0


def test_reveal_needs_the_csrf_token(coordinator, paris):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    response = client.post(reveal(paris.pk))
    assert response.status_code == 403
    assert AuditEvent.objects.count() == 0
    assert ContactEvent.objects.count() == 0


def test_coordinator_of_another_zone_gets_404_and_nothing_is_logged(coordinator_client, lyon):
    assert coordinator_client.get(detail(lyon.pk)).status_code == 404
    response = coordinator_client.post(reveal(lyon.pk))
    assert response.status_code == 404
    assert "jean@orange.fr" not in response.content.decode()
    assert AuditEvent.objects.count() == 0
    assert ContactEvent.objects.count() == 0


def test_volunteer_gets_403_and_nothing_is_logged(volunteer_client, paris):
    assert volunteer_client.get(detail(paris.pk)).status_code == 403
    response = volunteer_client.post(reveal(paris.pk))
    assert response.status_code == 403
    assert "marie.dupont" not in response.content.decode()
    assert AuditEvent.objects.count() == 0
    assert ContactEvent.objects.count() == 0


def test_anonymous_visitor_is_sent_to_login_and_nothing_is_logged(client, paris):
    for response in (client.get(detail(paris.pk)), client.post(reveal(paris.pk))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert AuditEvent.objects.count() == 0
    assert ContactEvent.objects.count() == 0


def test_unknown_contact_is_404(hq_client):
    assert hq_client.get(detail(999999)).status_code == 404


def test_sources_purposes_and_event_data_read_as_words_not_codes(hq_client, hq):
    contact = make_contact("lea@exemple.fr", source="signup")
    ContactEventFactory.create(
        contact=contact,
        kind="consent.granted",
        data={"purposes": ["news", "volunteering"], "source": "signup"},
    )
    ContactEventFactory.create(contact=contact, kind="reveal", data={"fields": ["email", "phone"]})
    html = hq_client.get(detail(contact.pk)).content.decode()
    assert "<dt>Source</dt><dd>Formulaire d&#x27;inscription</dd>" in html
    consent_data = "finalités : Actualités, Bénévolat · source : Formulaire d&#x27;inscription"
    assert f'<span class="hint">{consent_data}</span>' in html
    assert '<span class="hint">champs : e-mail, téléphone</span>' in html
    batch = ImportBatch.objects.create(
        created_by=hq,
        filename="f.csv",
        path="",
        basis="membership",
        source="Salon 2027",
        purposes=["news", "mobilization"],
        size=1,
    )
    page = hq_client.get(reverse("people:import_detail", args=[batch.pk])).content.decode()
    assert "<dd>Actualités, Mobilisation</dd>" in page
    assert "<dd>Salon 2027</dd>" in page


def test_names_and_event_data_are_escaped(hq_client):
    contact = make_contact(
        "x@exemple.fr", first_name="<script>alert(1)</script>", source="<img src=x>"
    )
    ContactEventFactory.create(contact=contact, kind="<i>kind</i>", data={"note": "<b>gras</b>"})
    html = hq_client.get(detail(contact.pk)).content.decode()
    for raw in ("<script>alert(1)</script>", "<img src=x>", "<i>kind</i>", "<b>gras</b>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;gras&lt;/b&gt;" in html
