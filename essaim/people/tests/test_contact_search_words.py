"""Searching the base as people type: accents and case aside, full names in either order, towns,
domains; the keys written by every path that writes names (a page, the import, the migration)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.urls import reverse

from essaim.lib.text import name_key
from essaim.people.models import Contact
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:contact_list")


def listed(response) -> list[str]:
    return re.findall(r'href="/base/contacts/(\d+)/"', response.content.decode())


def ids(*contacts: Contact) -> list[str]:
    return [str(c.pk) for c in sorted(contacts, key=lambda c: -c.pk)]


def test_a_name_is_searched_without_accents_case_hyphens_or_apostrophes():
    assert name_key("  Lefèvre-D’Arc ") == "lefevre darc"
    assert name_key("ÉLODIE") == "elodie"
    assert name_key("Cœur de Lœwe") == "coeur de loewe"
    assert name_key("N'Diaye") == "ndiaye"
    assert name_key("") == ""


@pytest.fixture
def people() -> dict[str, Contact]:
    return {
        "lefevre": make_contact(
            "m.l@orange.fr", first_name="Marie", last_name="Lefèvre", postcode="75011"
        ),
        "lefebvre": make_contact(
            "jl@free.fr", first_name="Jean", last_name="LEFEBVRE", postcode="13001"
        ),
        "dupont": make_contact(
            "marie.dupont@gmail.com",
            first_name="Marie-Hélène",
            last_name="Dupont",
            postcode="33000",
        ),
        "lyon": make_contact(
            "paul@exemple.fr", first_name="Paul", last_name="Martin", postcode="69003"
        ),
        "gmail": make_contact(
            "zoe@gmail.com", first_name="Zoé", last_name="Zola", postcode="59000"
        ),
    }


def test_lefevre_finds_lefevre_with_its_accent_and_capitals_find_it_too(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "lefevre"})) == ids(people["lefevre"])
    assert listed(hq_client.get(URL, {"q": "LEFÈVRE"})) == ids(people["lefevre"])
    assert listed(hq_client.get(URL, {"q": "lefe"})) == ids(people["lefevre"], people["lefebvre"])


def test_a_full_name_is_found_in_either_order_and_with_a_compound_first_name(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "marie lefevre"})) == ids(people["lefevre"])
    assert listed(hq_client.get(URL, {"q": "Lefèvre Marie"})) == ids(people["lefevre"])
    assert listed(hq_client.get(URL, {"q": "marie helene dupont"})) == ids(people["dupont"])
    assert listed(hq_client.get(URL, {"q": "marie dup"})) == ids(people["dupont"])
    assert listed(hq_client.get(URL, {"q": "jean lefevre"})) == []


def test_a_town_finds_the_contacts_of_its_postcodes(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "Lyon"})) == ids(people["lyon"])
    assert listed(hq_client.get(URL, {"q": "paris"})) == ids(people["lefevre"])


def test_hq_finds_the_addresses_of_a_domain(hq_client, people):
    expected = ids(people["dupont"], people["gmail"])
    assert listed(hq_client.get(URL, {"q": "gmail.com"})) == expected
    assert listed(hq_client.get(URL, {"q": "@GMAIL.com"})) == expected


def test_a_coordinator_finds_names_and_towns_of_their_zone_but_no_domain(
    coordinator_client, people
):
    assert listed(coordinator_client.get(URL, {"q": "lefevre"})) == ids(people["lefevre"])
    assert listed(coordinator_client.get(URL, {"q": "Paris"})) == ids(people["lefevre"])
    assert listed(coordinator_client.get(URL, {"q": "Lyon"})) == []  # not their zone
    assert listed(coordinator_client.get(URL, {"q": "orange.fr"})) == []
    assert coordinator_client.get(URL, {"q": "@orange.fr"}).status_code == 400


def test_a_name_changed_on_save_changes_its_keys():
    contact = make_contact("a@exemple.fr", first_name="Élise", last_name="Brûlé")
    assert (contact.first_name_key, contact.last_name_key) == ("elise", "brule")
    contact.last_name = "Gaëlle-Noël"
    contact.save(update_fields=["last_name"])
    assert Contact.objects.values_list("last_name_key", flat=True).get(pk=contact.pk) == (
        "gaelle noel"
    )


def test_the_migration_fills_the_keys_of_the_contacts_already_there():
    contact = make_contact("b@exemple.fr", first_name="Hélène", last_name="Fèvre")
    other = make_contact("c@exemple.fr", first_name="", last_name="")
    Contact.objects.filter(pk=contact.pk).update(first_name_key="", last_name_key="")
    migration = importlib.import_module("essaim.people.migrations.0010_contact_name_keys")
    migration.fill(global_apps.get_model("people", "Contact"), connection)
    keys = dict(Contact.objects.values_list("pk", "last_name_key"))
    assert keys == {contact.pk: "fevre", other.pk: ""}
    assert Contact.objects.get(pk=contact.pk).first_name_key == "helene"


def test_the_name_index_serves_the_search():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "people_contact")
    assert constraints["people_contact_name_key_idx"]["columns"] == ["last_name_key"]
    assert "people_contact_last_name_lower_idx" not in constraints
