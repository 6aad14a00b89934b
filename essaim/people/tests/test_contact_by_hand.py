"""A contact added or edited by hand by HQ: through the contacts service (the API's checks and
errors, each at its field), with the consent's provenance "typed by HQ user X", a duplicate
address refused with a link to the contact who has it, every write audited; coordinators and
volunteers refused with nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import Consent, Contact, ContactEvent, Suppression, email_hash
from essaim.people.services.contacts import (
    DuplicateAddress,
    SuppressedAddress,
    clean_contact_data,
    edit_contact,
    upsert_contact,
)
from essaim.people.tests.factories import TagFactory, make_contact

pytestmark = pytest.mark.django_db
NEW = reverse("people:contact_create")

GOOD = {
    "email": "Louise.Michel@Exemple.FR",
    "first_name": "Louise",
    "last_name": "Michel",
    "phone": "06 12 34 56 78",
    "postcode": "75011",
    "purposes": ["news", "mobilization"],
    "basis": "explicit_consent",
    "tags": ["bénévoles", "nouvelle étiquette"],
}


def edit_url(contact: Contact) -> str:
    return reverse("people:contact_edit", kwargs={"pk": contact.pk})


def snapshot() -> list[tuple]:
    return list(
        Contact.objects.order_by("pk").values_list(
            "pk", "email", "first_name", "last_name", "phone", "postcode"
        )
    )


# --- The service ------------------------------------------------------------------------------


def test_only_new_refuses_an_existing_address_and_changes_nothing():
    existing = make_contact("marie@exemple.fr", first_name="Marie")
    data = clean_contact_data(email="MARIE@exemple.fr", first_name="Autre")
    with pytest.raises(DuplicateAddress) as refused:
        upsert_contact(data=data, consents=[], source="staff", only_new=True)
    assert refused.value.contact_id == existing.pk
    existing.refresh_from_db()
    assert existing.first_name == "Marie"


def test_an_edit_writes_every_field_blanks_included_and_records_the_former_values(hq):
    contact = make_contact("marie@exemple.fr", first_name="Marie", phone="+33612345678")
    data = clean_contact_data(
        email="marie.c@exemple.fr",
        first_name="Marie",
        last_name=contact.last_name,
        postcode="69003",
    )
    changed = edit_contact(contact=contact, data=data, actor=hq)
    contact.refresh_from_db()
    assert changed == ["email", "phone", "postcode", "departement", "region"]
    assert (contact.email, contact.email_key, contact.email_hash, contact.phone) == (
        "marie.c@exemple.fr",
        "marie.c@exemple.fr",
        email_hash("marie.c@exemple.fr"),
        "",
    )
    assert (contact.postcode, contact.departement, contact.region) == ("69003", "69", "84")
    event = ContactEvent.objects.get(contact=contact, kind="updated")
    assert event.actor == hq
    assert event.data["before"] == {
        "email": "marie@exemple.fr",
        "phone": "+33612345678",
        "postcode": "75011",
        "departement": "75",
        "region": "11",
    }


def test_an_edit_to_another_contacts_address_or_a_suppressed_one_is_refused():
    contact = make_contact("marie@exemple.fr")
    other = make_contact("jean@exemple.fr")
    Suppression.objects.create(email_hash=email_hash("parti@exemple.fr"), reason="unsubscribe")
    with pytest.raises(DuplicateAddress) as refused:
        edit_contact(contact=contact, data=clean_contact_data(email="Jean@exemple.fr"))
    assert refused.value.contact_id == other.pk
    with pytest.raises(SuppressedAddress):
        edit_contact(contact=contact, data=clean_contact_data(email="parti@exemple.fr"))
    contact.refresh_from_db()
    assert contact.email == "marie@exemple.fr"


def test_an_edit_sets_the_tags_exactly():
    contact = make_contact("marie@exemple.fr", tags=["a", "b"])
    data = clean_contact_data(
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        postcode=contact.postcode,
    )
    assert edit_contact(contact=contact, data=data, tags=["b", "c"]) == ["tags"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["b", "c"]
    assert edit_contact(contact=contact, data=data, tags=["c", "b"]) == []


# --- Adding by hand -----------------------------------------------------------------------------


def test_hq_adds_a_contact_with_consent_recorded_as_typed_by_them(hq_client, hq):
    TagFactory.create(name="bénévoles")
    response = hq_client.post(NEW, GOOD)
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("people:contact_detail", kwargs={"pk": contact.pk})
    assert (contact.email, contact.email_key, contact.phone, contact.departement) == (
        "Louise.Michel@exemple.fr",
        "louise.michel@exemple.fr",
        "+33612345678",
        "75",
    )
    assert contact.source == "staff"
    assert sorted(contact.tags.values_list("name", flat=True)) == [
        "bénévoles",
        "nouvelle étiquette",
    ]
    consents = list(
        Consent.objects.order_by("purpose").values_list(
            "purpose", "status", "basis", "source", "source_ref"
        )
    )
    assert consents == [
        ("mobilization", "granted", "explicit_consent", "staff", f"user:{hq.pk}"),
        ("news", "granted", "explicit_consent", "staff", f"user:{hq.pk}"),
    ]
    event = AuditEvent.objects.get(action="contact.create")
    assert (event.actor, event.object_type, event.object_id) == (
        hq,
        "people.contact",
        str(contact.pk),
    )
    assert event.details == {
        "purposes": ["news", "mobilization"],
        "basis": "explicit_consent",
        "tags": ["bénévoles", "nouvelle étiquette"],
    }
    # The contact page names who typed the consent.
    page = hq_client.get(response["Location"]).content.decode()
    assert "Saisi par staff@qg.test (QG)" in page
    assert "Saisie QG" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "pas-une-adresse"}, "email", "Adresse sans @ ou avec plusieurs @."),
        ({"email": ""}, "email", "Ce champ est obligatoire."),
        ({"phone": "12"}, "phone", None),
        ({"postcode": "99999"}, "postcode", "Ce code postal n'existe pas."),
        ({"basis": ""}, "basis", "Indiquez la base légale de ce consentement."),
        ({"basis": "legitimate_interest"}, "basis", None),
        (
            {"purposes": []},
            "purposes",
            "Cochez au moins une finalité : pas de contact sans consentement.",
        ),
    ],
)
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(
    hq_client, change, field, message
):
    response = hq_client.post(NEW, GOOD | change)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.filter(action="contact.create").count() == 0


def test_a_duplicate_address_is_an_error_at_the_field_with_a_link_to_the_contact(hq_client):
    existing = make_contact("louise.michel@exemple.fr", first_name="Louise")
    before = snapshot()
    response = hq_client.post(NEW, GOOD)
    assert response.status_code == 200
    link = reverse("people:contact_detail", kwargs={"pk": existing.pk})
    assert response.context["form"].errors["email"] == [
        f"Cette adresse est déjà celle d'un contact de la base : "
        f'<a href="{link}">voir sa fiche</a>.'
    ]
    assert f'<a href="{link}">voir sa fiche</a>' in response.content.decode()
    assert snapshot() == before
    assert Consent.objects.filter(contact=existing).count() == 1
    assert AuditEvent.objects.filter(action="contact.create").count() == 0


def test_a_suppressed_address_cannot_be_added_by_hand(hq_client):
    Suppression.objects.create(email_hash=email_hash("louise.michel@exemple.fr"), reason="erasure")
    response = hq_client.post(NEW, GOOD)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["email"]
    assert Contact.objects.count() == 0


def test_coordinators_and_volunteers_may_not_add_contacts(coordinator_client, volunteer_client):
    for client in (coordinator_client, volunteer_client):
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, GOOD | {"postcode": "75011"}).status_code == 403
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# --- Editing by hand ----------------------------------------------------------------------------


def test_hq_edits_a_contact_and_the_edit_is_audited_and_on_the_timeline(hq_client, hq):
    contact = make_contact(
        "marie@exemple.fr", first_name="Marie", last_name="Curie", tags=["a"], consents={}
    )
    form = hq_client.get(edit_url(contact))
    assert form.status_code == 200
    assert form.context["form"].initial["tags"] == ["a"]
    response = hq_client.post(
        edit_url(contact),
        {
            "email": "marie@exemple.fr",
            "first_name": "Marie",
            "last_name": "Skłodowska-Curie",
            "postcode": "",
            "tags": ["b"],
            "purposes": ["volunteering"],
            "basis": "membership",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.last_name, contact.postcode, contact.departement) == (
        "Skłodowska-Curie",
        "",
        "",
    )
    assert list(contact.tags.values_list("name", flat=True)) == ["b"]
    assert list(Consent.objects.filter(contact=contact).values_list("purpose", "source_ref")) == [
        ("volunteering", f"user:{hq.pk}")
    ]
    event = AuditEvent.objects.get(action="contact.update")
    assert (event.actor, event.object_id) == (hq, str(contact.pk))
    assert event.details == {
        "fields": ["last_name", "postcode", "departement", "region", "tags"],
        "purposes": ["volunteering"],
    }
    assert ContactEvent.objects.get(contact=contact, kind="updated").data["fields"] == [
        "last_name",
        "postcode",
        "departement",
        "region",
        "tags",
    ]


def test_an_edit_that_changes_nothing_writes_no_audit_entry(hq_client):
    contact = make_contact("marie@exemple.fr", first_name="Marie", last_name="Curie")
    data = {
        "email": contact.email,
        "first_name": "Marie",
        "last_name": "Curie",
        "postcode": "75011",
    }
    assert hq_client.post(edit_url(contact), data).status_code == 302
    assert AuditEvent.objects.filter(action="contact.update").count() == 0


def test_granted_purposes_are_not_offered_again_on_the_edit_page(hq_client):
    contact = make_contact(
        "marie@exemple.fr", consents={"news": "granted", "mobilization": "withdrawn"}
    )
    form = hq_client.get(edit_url(contact)).context["form"]
    assert [value for value, _label in form.fields["purposes"].choices] == ["volunteering"]
    everything = make_contact(
        "jean@exemple.fr",
        consents={"news": "granted", "mobilization": "granted", "volunteering": "withdrawn"},
    )
    assert "purposes" not in hq_client.get(edit_url(everything)).context["form"].fields


def test_an_edit_to_another_contacts_address_is_refused_with_a_link(hq_client):
    contact = make_contact("marie@exemple.fr")
    other = make_contact("jean@exemple.fr")
    before = snapshot()
    response = hq_client.post(edit_url(contact), {"email": "JEAN@exemple.fr"})
    assert response.status_code == 200
    link = reverse("people:contact_detail", kwargs={"pk": other.pk})
    assert f'<a href="{link}">voir sa fiche</a>' in response.content.decode()
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="contact.update").count() == 0


def test_an_invalid_email_on_edit_is_refused_at_the_field(hq_client):
    contact = make_contact("marie@exemple.fr")
    before = snapshot()
    response = hq_client.post(edit_url(contact), {"email": "marie@"})
    assert response.context["form"].errors == {"email": ["Domaine vide."]}
    assert snapshot() == before


def test_coordinators_cannot_edit_contacts_in_or_out_of_their_zone(
    coordinator_client, volunteer_client
):
    paris = make_contact("marie@exemple.fr", postcode="75011", first_name="Marie")
    lyon = make_contact("jean@exemple.fr", postcode="69003", first_name="Jean")
    before = snapshot()
    for client in (coordinator_client, volunteer_client):
        for contact in (paris, lyon):
            assert client.get(edit_url(contact)).status_code == 403
            response = client.post(edit_url(contact), {"email": "x@exemple.fr", "first_name": "X"})
            assert response.status_code == 403
    assert snapshot() == before
    assert AuditEvent.objects.count() == 0
    assert ContactEvent.objects.filter(kind="updated").count() == 0
