import pytest
from django.utils import timezone

from essaim.lib.text import InvalidValue
from essaim.people.models import Consent, Contact, ContactEvent, Purpose, Suppression
from essaim.people.services.contacts import (
    ConsentGrant,
    InvalidField,
    NoLegalBasis,
    SuppressedAddress,
    clean_contact_data,
    upsert_contact,
    withdraw_consent,
)
from essaim.people.services.gdpr import access_report, erase_contact
from essaim.people.services.suppression import is_suppressed

IMPORTED = ConsentGrant(purpose=Purpose.NEWS, basis="membership", source="import", source_ref="7")


def confirmed(purpose: str = Purpose.NEWS) -> ConsentGrant:
    return ConsentGrant(
        purpose=purpose,
        basis="explicit_consent",
        source="signup_form",
        ip="198.51.100.4",
        user_agent="Firefox",
        confirmed_at=timezone.now(),
    )


def test_postcode_gives_departement_and_region(db):
    data = clean_contact_data(email="Marie@Exemple.FR", postcode="69003")
    assert (data.email, data.email_key, data.departement, data.region) == (
        "Marie@exemple.fr",
        "marie@exemple.fr",
        "69",
        "84",
    )


def test_corsican_and_overseas_postcodes_resolve(db):
    assert clean_contact_data(email="a@b.fr", postcode="20000").departement == "2A"
    assert clean_contact_data(email="a@b.fr", postcode="97400").departement == "974"


def test_a_postcode_that_does_not_exist_is_refused(db):
    with pytest.raises(InvalidValue, match="code postal"):
        clean_contact_data(email="a@b.fr", postcode="00000")


@pytest.mark.parametrize(
    ("fields", "field", "message", "text"),
    [
        ({"email": "a@@b.fr"}, "email", "adresse sans @ ou avec plusieurs @", "e-mail : "),
        ({"email": "  "}, "email", "adresse vide", "e-mail : "),
        ({"phone": "12"}, "phone", "numéro de téléphone invalide", "téléphone : "),
        ({"postcode": "750"}, "postcode", "code postal invalide", "code postal : "),
        ({"postcode": "00000"}, "postcode", "ce code postal n'existe pas", "code postal : "),
    ],
)
def test_an_invalid_field_is_named_as_data_and_in_the_text(db, fields, field, message, text):
    with pytest.raises(InvalidField) as raised:
        clean_contact_data(**{"email": "a@b.fr", **fields})
    assert (raised.value.field, raised.value.message) == (field, message)
    assert str(raised.value) == text + message


def test_no_contact_without_a_legal_basis(db):
    with pytest.raises(NoLegalBasis):
        upsert_contact(data=clean_contact_data(email="a@b.fr"), consents=[], source="api")
    assert Contact.objects.count() == 0


def test_same_address_in_another_case_completes_the_same_contact(db):
    first, created = upsert_contact(
        data=clean_contact_data(email="jean@x.fr", first_name="Jean"),
        consents=[IMPORTED],
        source="import",
    )
    second, created_again = upsert_contact(
        data=clean_contact_data(email="JEAN@X.FR", first_name="Jeannot", last_name="Dupont"),
        consents=[IMPORTED],
        source="import",
    )
    assert (created, created_again, first.pk) == (True, False, second.pk)
    second.refresh_from_db()
    assert (second.first_name, second.last_name) == ("Jean", "Dupont")
    assert list(
        ContactEvent.objects.filter(contact=first).values_list("kind", flat=True).order_by("id")
    ) == [
        "created",
        "consent",
        "updated",
    ]


def test_an_import_never_brings_back_a_withdrawn_consent(db):
    contact, _ = upsert_contact(
        data=clean_contact_data(email="a@b.fr"), consents=[IMPORTED], source="import"
    )
    assert withdraw_consent(contact, purposes=[Purpose.NEWS], reason="unsubscribe") == ["news"]
    upsert_contact(data=clean_contact_data(email="a@b.fr"), consents=[IMPORTED], source="import")
    assert Consent.objects.get(contact=contact).status == Consent.Status.WITHDRAWN


def test_the_persons_own_confirmation_brings_a_withdrawn_consent_back(db):
    contact, _ = upsert_contact(
        data=clean_contact_data(email="a@b.fr"), consents=[IMPORTED], source="import"
    )
    withdraw_consent(contact, purposes=[Purpose.NEWS], reason="unsubscribe")
    upsert_contact(data=clean_contact_data(email="a@b.fr"), consents=[confirmed()], source="signup")
    consent = Consent.objects.get(contact=contact)
    assert (consent.status, consent.basis, consent.ip, consent.withdrawn_at) == (
        "granted",
        "explicit_consent",
        "198.51.100.4",
        None,
    )


def test_erasure_deletes_everything_and_keeps_only_a_hash(db):
    contact, _ = upsert_contact(
        data=clean_contact_data(email="Efface@Moi.fr", first_name="Eve"),
        consents=[confirmed()],
        source="signup",
        tags=["jeunes"],
    )
    report = access_report(contact)
    assert report["contact"]["first_name"] == "Eve" and report["tags"] == ["jeunes"]
    assert [c["purpose"] for c in report["consents"]] == ["news"]
    hashed = erase_contact(contact)
    assert Contact.objects.count() == 0 and ContactEvent.objects.count() == 0
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [(hashed, "erasure")]
    assert "moi.fr" not in hashed
    assert is_suppressed("efface@moi.fr")
    with pytest.raises(SuppressedAddress):
        upsert_contact(
            data=clean_contact_data(email="efface@MOI.fr"), consents=[confirmed()], source="signup"
        )
    assert Contact.objects.count() == 0
