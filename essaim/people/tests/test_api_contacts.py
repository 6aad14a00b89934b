"""Contacts over the API: list, read, upsert, erase, GDPR report — for every role."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api
from essaim.people.models import Consent, Contact, ContactEvent, ContactTag, Suppression
from essaim.people.services.segments import save_segment
from essaim.people.services.suppression import suppress
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

CONTACTS = "/api/v1/contacts"


def emails(response: Any) -> list[str]:
    return [c["email"] for c in response.json()["items"]]


def snapshot() -> tuple[list[Any], list[Any], list[Any]]:
    """Everything a write could change, to assert that a refused write changed nothing."""
    return (
        list(Contact.objects.order_by("pk").values()),
        list(Consent.objects.order_by("pk").values()),
        list(ContactTag.objects.order_by("pk").values()),
    )


NEW = {
    "email": "Jeanne.Barret@Exemple.FR",
    "first_name": "Jeanne",
    "last_name": "Barret",
    "phone": "06 98 76 54 32",
    "postcode": "75011",
    "tags": ["botanique", "jeunes"],
    "consents": [{"purpose": "news", "basis": "explicit_consent"}],
}


# --- Reading: who sees what -----------------------------------------------------------------


def test_hq_lists_every_contact_newest_first_unmasked(hq_api, paris_contact, lyon_contact):
    response = hq_api.get(CONTACTS)
    assert response.status_code == 200
    body = response.json()
    assert (emails(response), body["next"]) == (
        ["louis.lumiere@exemple.fr", "Marie.Curie@exemple.fr"],
        None,
    )
    assert body["items"][1] | {"created_at": None, "updated_at": None} == {
        "id": paris_contact.pk,
        "email": "Marie.Curie@exemple.fr",
        "first_name": "Marie",
        "last_name": "Curie",
        "phone": "+33612345678",
        "postcode": "75005",
        "departement": "75",
        "region": "11",
        "source": "staff",
        "created_at": None,
        "updated_at": None,
        "tags": ["jeunes"],
        "masked": False,
    }


def test_a_coordinator_lists_only_their_zone_masked(coordinator_api, paris_contact, lyon_contact):
    response = coordinator_api.get(CONTACTS)
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert (item["id"], item["email"], item["phone"], item["last_name"], item["masked"]) == (
        paris_contact.pk,
        "M•••@e•••.fr",
        "+33 6 •• •• •• 78",
        "Curie",
        True,
    )


def test_a_coordinator_of_another_zone_sees_only_theirs(
    other_coordinator_api, paris_contact, lyon_contact
):
    assert emails(other_coordinator_api.get(CONTACTS)) == ["l•••@e•••.fr"]


def test_a_volunteer_cannot_see_contacts(volunteer_api, paris_contact):
    response = volunteer_api.get(CONTACTS)
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "forbidden",
            "message": "This token's user may not do this.",
            "details": None,
        }
    }


def test_anonymous_and_revoked_tokens_cannot_see_contacts(anonymous, revoked_api, paris_contact):
    assert anonymous.get(CONTACTS).status_code == 401
    assert revoked_api.get(CONTACTS).status_code == 401


def test_hq_reads_one_contact_with_tags_and_consents(hq_api, paris_contact):
    response = hq_api.get(f"{CONTACTS}/{paris_contact.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["tags"], body["masked"]) == (
        "Marie.Curie@exemple.fr",
        ["jeunes"],
        False,
    )
    assert [
        {k: c[k] for k in ("purpose", "status", "basis", "source")} for c in body["consents"]
    ] == [{"purpose": "news", "status": "granted", "basis": "membership", "source": "staff"}]


def test_a_coordinator_reads_a_contact_of_their_zone_masked(coordinator_api, paris_contact):
    body = coordinator_api.get(f"{CONTACTS}/{paris_contact.pk}").json()
    assert (body["email"], body["phone"], body["masked"]) == (
        "M•••@e•••.fr",
        "+33 6 •• •• •• 78",
        True,
    )


def test_a_contact_of_another_zone_is_not_found_for_a_coordinator(
    other_coordinator_api, paris_contact
):
    response = other_coordinator_api.get(f"{CONTACTS}/{paris_contact.pk}")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "No such contact.",
        "details": None,
    }


def test_a_volunteer_cannot_read_a_contact(volunteer_api, paris_contact):
    assert volunteer_api.get(f"{CONTACTS}/{paris_contact.pk}").status_code == 403


@pytest.mark.parametrize("contact_id", ["999999", str(2**63 - 1)])
def test_a_contact_that_does_not_exist_is_404(hq_api, paris_contact, contact_id):
    assert hq_api.get(f"{CONTACTS}/{contact_id}").status_code == 404


@pytest.mark.parametrize("contact_id", ["abc", "0", "-3", str(2**63), "1e3"])
def test_a_malformed_contact_id_is_422(hq_api, contact_id):
    response = hq_api.get(f"{CONTACTS}/{contact_id}")
    assert response.status_code == 422
    assert [(d["in"], d["field"]) for d in response.json()["error"]["details"]] == [("path", "id")]


# --- Pagination, search, filters ------------------------------------------------------------


@pytest.fixture
def twelve_parisians(db: Any) -> list[Contact]:
    return [
        make_contact(f"p{i:02d}@exemple.fr", postcode="75011", tags=("quartier",) if i % 2 else ())
        for i in range(12)
    ]


def test_pages_follow_the_cursor_newest_first_to_the_end(hq_api, twelve_parisians):
    seen: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        params = {"limit": 5} | ({"after": after} if after else {})
        body = hq_api.get(CONTACTS, **params).json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        after = body["next"]
        if after is None:
            break
        assert after == body["items"][-1]["id"]
    assert pages == 3
    assert seen == sorted((c.pk for c in twelve_parisians), reverse=True)


def test_an_exact_last_page_has_no_next_cursor(hq_api, twelve_parisians):
    body = hq_api.get(CONTACTS, limit=12).json()
    assert (len(body["items"]), body["next"]) == (12, None)


@pytest.fixture
def local_cache(settings: Any) -> None:
    # The rate limit's cache calls are SQL queries with the database cache: count only the
    # page's queries (the API's own cost) by putting the cache in memory for this test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tag": "quartier"},
        {"q": "p0"},
        {"segment": "SEGMENT"},
    ],
    ids=["plain", "tag", "search", "segment"],
)
def test_a_page_costs_the_same_queries_at_any_depth(
    hq, hq_api, twelve_parisians, local_cache, django_assert_num_queries, params
):
    segment = save_segment(
        name="Paris", description="", definition={"departements": ["75"]}, user=hq
    )
    if params.get("segment"):
        params = {"segment": segment.pk}
    hq_api.get(CONTACTS)  # first use writes last_used_at; later requests within a minute don't
    # token + user (1), page (1), its tags (1) [+ the segment (1)], then the accounting: the
    # people counter (1 UPDATE) and the audit entry (the last hash and 1 INSERT); on
    # PostgreSQL one statement doing the three under the chain's lock. Never one per row.
    accounting = 1 if connection.vendor == "postgresql" else 3
    expected = (4 if "segment" in params else 3) + accounting
    cursors = [None, twelve_parisians[9].pk, twelve_parisians[3].pk]
    for after in cursors:
        query = params | {"limit": 2} | ({"after": after} if after else {})
        with django_assert_num_queries(expected):
            response = hq_api.get(CONTACTS, **query)
        assert response.status_code == 200 and response.json()["items"]


def test_search_by_address_prefix_is_case_insensitive(hq_api, paris_contact, lyon_contact):
    assert emails(hq_api.get(CONTACTS, q="MARIE.c")) == ["Marie.Curie@exemple.fr"]
    assert emails(hq_api.get(CONTACTS, q="louis@")) == []


def test_search_by_last_name_prefix(hq_api, paris_contact, lyon_contact):
    assert emails(hq_api.get(CONTACTS, q="lumi")) == ["louis.lumiere@exemple.fr"]
    assert emails(hq_api.get(CONTACTS, q="Cur")) == ["Marie.Curie@exemple.fr"]


def test_a_coordinator_cannot_spell_out_a_masked_address_by_prefix(coordinator_api, paris_contact):
    assert emails(coordinator_api.get(CONTACTS, q="marie.c")) == []
    # An address, even whole, is refused (test_contacts_search_api.py).
    assert coordinator_api.get(CONTACTS, q="marie.c@").status_code == 422
    assert coordinator_api.get(CONTACTS, q="marie.curie@exemple.fr").status_code == 422


def test_a_coordinator_search_stays_in_their_zone(coordinator_api, paris_contact, lyon_contact):
    assert emails(coordinator_api.get(CONTACTS, q="Lumière")) == []


def test_filter_by_tag(hq_api, paris_contact, lyon_contact):
    assert emails(hq_api.get(CONTACTS, tag="jeunes")) == ["Marie.Curie@exemple.fr"]
    assert emails(hq_api.get(CONTACTS, tag="inconnue")) == []


def test_filter_by_segment(hq, hq_api, paris_contact, lyon_contact):
    segment = save_segment(
        name="Lyon", description="", definition={"departements": ["69"]}, user=hq
    )
    assert emails(hq_api.get(CONTACTS, segment=segment.pk)) == ["louis.lumiere@exemple.fr"]


def test_an_unknown_segment_is_404(hq_api, paris_contact):
    response = hq_api.get(CONTACTS, segment=4242)
    assert (response.status_code, response.json()) == (
        404,
        {"error": {"code": "not_found", "message": "No such segment.", "details": None}},
    )


@pytest.mark.parametrize(
    ("params", "field", "kind"),
    [
        ({"limit": 501}, "limit", "less_than_equal"),
        ({"limit": 10**9}, "limit", "less_than_equal"),
        ({"limit": 0}, "limit", "greater_than_equal"),
        ({"after": "abc"}, "after", "int_parsing"),
        ({"after": "-1"}, "after", "greater_than_equal"),
        ({"after": "1 OR 1=1"}, "after", "int_parsing"),
        ({"after": str(2**64)}, "after", "less_than_equal"),
        ({"segment": "x"}, "segment", "int_parsing"),
        ({"q": "x" * 255}, "q", "string_too_long"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_field(hq_api, paris_contact, params, field, kind):
    response = hq_api.get(CONTACTS, **params)
    assert response.status_code == 422
    assert [(d["in"], d["field"], d["type"]) for d in response.json()["error"]["details"]] == [
        ("query", field, kind)
    ]


def test_a_cursor_beyond_the_newest_contact_just_pages_from_the_top(hq_api, paris_contact):
    assert emails(hq_api.get(CONTACTS, after=10**12)) == ["Marie.Curie@exemple.fr"]


# --- Upsert -----------------------------------------------------------------------------------


def test_hq_creates_a_contact_with_consent_proof_from_the_token(hq_api, hq):
    response = hq_api.put(CONTACTS, NEW)
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert response.json()["id"] == contact.pk
    assert (
        contact.email,
        contact.email_key,
        contact.first_name,
        contact.phone,
        contact.departement,
        contact.source,
    ) == (
        "Jeanne.Barret@exemple.fr",
        "jeanne.barret@exemple.fr",
        "Jeanne",
        "+33698765432",
        "75",
        "api",
    )
    consent = Consent.objects.get()
    assert hq_api.token is not None
    assert (consent.purpose, consent.status, consent.basis, consent.source, consent.source_ref) == (
        "news",
        "granted",
        "explicit_consent",
        "api",
        hq_api.token[4:12],
    )
    assert sorted(contact.tags.values_list("name", flat=True)) == ["botanique", "jeunes"]
    assert list(ContactEvent.objects.order_by("id").values_list("kind", "actor")) == [
        ("created", hq.pk),
        ("consent", hq.pk),
    ]


def test_putting_the_same_address_again_updates_it_with_200(hq_api, paris_contact):
    response = hq_api.put(
        CONTACTS,
        {"email": "marie.curie@EXEMPLE.fr", "first_name": "Maria", "tags": ["nobel"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["first_name"], body["last_name"], body["tags"]) == (
        paris_contact.pk,
        "Maria",
        "Curie",
        ["jeunes", "nobel"],
    )
    assert Contact.objects.count() == 1
    assert list(Consent.objects.values_list("purpose", "status", "source")) == [
        ("news", "granted", "staff")
    ]


def test_an_update_can_add_a_consent(hq_api, paris_contact):
    response = hq_api.put(
        CONTACTS,
        {
            "email": "marie.curie@exemple.fr",
            "consents": [{"purpose": "volunteering", "basis": "explicit_consent"}],
        },
    )
    assert response.status_code == 200
    assert [c["purpose"] for c in response.json()["consents"]] == ["news", "volunteering"]


def test_an_update_does_not_bring_back_a_withdrawn_consent(hq_api, paris_contact):
    Consent.objects.filter(contact=paris_contact).update(status="withdrawn")
    hq_api.put(
        CONTACTS,
        {
            "email": "marie.curie@exemple.fr",
            "consents": [{"purpose": "news", "basis": "membership"}],
        },
    )
    assert Consent.objects.get().status == "withdrawn"


def test_a_new_contact_without_consent_is_refused(hq_api):
    response = hq_api.put(CONTACTS, {k: v for k, v in NEW.items() if k != "consents"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "field": "consents",
            "message": "A new contact needs at least one consent (purpose and legal basis).",
        }
    ]
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "pas-une-adresse"}, "email", "adresse sans @ ou avec plusieurs @"),
        ({"email": "a@b@c.fr"}, "email", "adresse sans @ ou avec plusieurs @"),
        ({"email": "jeanne@localhost"}, "email", "domaine invalide"),
        ({"email": ""}, "email", "adresse vide"),
        ({"phone": "12"}, "phone", "numéro de téléphone invalide"),
        ({"postcode": "7501"}, "postcode", "ce code postal n'existe pas"),
        ({"postcode": "PARIS"}, "postcode", "code postal invalide"),
    ],
)
def test_invalid_fields_are_422_with_the_field_and_the_reason(hq_api, changes, field, message):
    response = hq_api.put(CONTACTS, NEW | changes)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{"field": field, "message": message}]
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"consents": [{"purpose": "politics", "basis": "membership"}]}, ["consents.0.purpose"]),
        ({"consents": [{"purpose": "news", "basis": "legitimate_interest"}]}, ["consents.0.basis"]),
        ({"consents": [{"purpose": "news"}]}, ["consents.0.basis"]),
        ({"first_name": 12}, ["first_name"]),
        ({"email": ["a@b.fr"]}, ["email"]),
        ({"tags": "jeunes"}, ["tags"]),
        ({"tags": [1]}, ["tags.0"]),
        ({"consents": {"purpose": "news"}}, ["consents"]),
        ({"last_name": "x" * 151}, ["last_name"]),
        ({"tags": ["x"] * 51}, ["tags"]),
    ],
)
def test_wrong_types_and_unknown_values_are_422_naming_the_field(hq_api, changes, fields):
    response = hq_api.put(CONTACTS, NEW | changes)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(d["in"], d["field"]) for d in details] == [("body", f) for f in fields]
    assert Contact.objects.count() == 0


def test_a_body_without_an_email_is_422(hq_api):
    response = hq_api.put(CONTACTS, {"consents": NEW["consents"]})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["email"]


def test_malformed_json_is_400(hq_api):
    response = hq_api.put(CONTACTS, raw='{"email": "a@b.fr",')
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "The request body is not valid JSON.",
        "details": None,
    }
    assert Contact.objects.count() == 0


def test_a_json_body_that_is_not_an_object_is_422(hq_api):
    assert hq_api.put(CONTACTS, raw='["a@b.fr"]').status_code == 422
    assert Contact.objects.count() == 0


def test_html_in_names_is_stored_and_returned_as_text(hq_api):
    markup = '<script>alert("x")</script><b>Jeanne</b>'
    response = hq_api.put(CONTACTS, NEW | {"first_name": markup, "tags": ["<i>tag</i>"]})
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert (response.json()["first_name"], response.json()["tags"]) == (
        markup,
        ["<i>tag</i>"],
    )
    assert Contact.objects.get().first_name == markup


def test_a_suppressed_address_is_refused_with_409(hq_api):
    suppress(email_key="jeanne.barret@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    response = hq_api.put(CONTACTS, NEW)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "suppressed",
        "message": "This address is on the suppression list (unsubscribed, erased, bounced or "
        "reported): it cannot be added to the base again.",
        "details": None,
    }
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("api_fixture", "status"),
    [
        ("coordinator_api", 403),
        ("other_coordinator_api", 403),
        ("volunteer_api", 403),
        ("anonymous", 401),
        ("revoked_api", 401),
    ],
)
def test_only_hq_may_write_contacts(request, paris_contact, api_fixture, status):
    api: Api = request.getfixturevalue(api_fixture)
    before = snapshot()
    created = api.put(CONTACTS, NEW)
    updated = api.put(CONTACTS, {"email": paris_contact.email, "first_name": "Pirate"})
    erased = api.delete(f"{CONTACTS}/{paris_contact.pk}")
    assert (created.status_code, updated.status_code, erased.status_code) == (status,) * 3
    assert snapshot() == before
    assert not Suppression.objects.exists()


def test_a_refused_write_is_refused_before_its_body_is_read(coordinator_api):
    response = coordinator_api.put(CONTACTS, raw="{not json")
    assert response.status_code == 403


# --- Erasure and access -----------------------------------------------------------------------


def test_hq_erases_a_contact_and_only_a_hash_remains(hq, hq_api, paris_contact):
    hashed = paris_contact.email_hash
    response = hq_api.delete(f"{CONTACTS}/{paris_contact.pk}")
    assert (response.status_code, response.content) == (204, b"")
    assert not Contact.objects.exists() and not Consent.objects.exists()
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [(hashed, "erasure")]
    event = AuditEvent.objects.get(action="contact.erase")
    assert (event.actor, event.object_type, event.object_id) == (
        hq,
        "people.contact",
        str(paris_contact.pk),
    )
    assert hq_api.token is not None
    assert event.details == {"email_hash": hashed, "token": hq_api.token[4:12]}
    assert "curie" not in str(event.details).lower()


def test_an_erasure_whose_audit_entry_fails_erases_nothing(hq_api, paris_contact, monkeypatch):
    # The entry is written in the erasure's own transaction: an erasure that cannot be
    # recorded must not happen.
    from essaim.people.services import gdpr

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    before = snapshot()
    monkeypatch.setattr(gdpr, "audit", refuse)
    response = hq_api.delete(f"{CONTACTS}/{paris_contact.pk}")
    assert response.status_code == 500
    assert snapshot() == before
    assert not Suppression.objects.exists()
    assert not AuditEvent.objects.filter(action="contact.erase").exists()


def test_an_erased_address_cannot_be_put_back(hq_api, paris_contact):
    hq_api.delete(f"{CONTACTS}/{paris_contact.pk}")
    response = hq_api.put(CONTACTS, NEW | {"email": "marie.curie@exemple.fr"})
    assert response.status_code == 409
    assert not Contact.objects.exists()


def test_erasing_a_contact_that_does_not_exist_is_404(hq_api):
    assert hq_api.delete(f"{CONTACTS}/424242").status_code == 404
    assert not AuditEvent.objects.filter(action="contact.erase").exists()


def test_hq_gets_the_gdpr_access_report_and_it_is_audited(hq, hq_api, paris_contact):
    response = hq_api.get(f"{CONTACTS}/{paris_contact.pk}/gdpr")
    assert response.status_code == 200
    body = response.json()
    assert body["contact"]["email"] == "Marie.Curie@exemple.fr"
    assert (body["tags"], [c["purpose"] for c in body["consents"]]) == (["jeunes"], ["news"])
    assert [e["kind"] for e in body["timeline"]] == ["created", "consent"]
    event = AuditEvent.objects.get(action="contact.access_export")
    assert (event.actor, event.object_type, event.object_id) == (
        hq,
        "people.contact",
        str(paris_contact.pk),
    )


@pytest.mark.parametrize("api_fixture", ["coordinator_api", "volunteer_api"])
def test_only_hq_gets_a_gdpr_report(request, paris_contact, api_fixture):
    response = request.getfixturevalue(api_fixture).get(f"{CONTACTS}/{paris_contact.pk}/gdpr")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="contact.access_export").exists()
