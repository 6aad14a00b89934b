"""A coordinator's search covers what they see in clear (names, postcodes): a search for a phone
number or an e-mail address, which they see masked, is refused, audited with the query and
counted on the same budget as reveals, so guessing numbers one after the other leads nowhere
and leaves a trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import Contact, ContactEvent
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:contact_list")


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    # Rate-limit windows live in the cache (Redis or the database cache), outside the rollback.
    cache.clear()


@pytest.fixture
def marie() -> Contact:
    return make_contact(
        "marie.dupont@gmail.com", last_name="Dupont", postcode="75011", phone="+33612345678"
    )


def listed(response: Any) -> list[str]:
    return re.findall(r'href="/base/contacts/(\d+)/"', response.content.decode())


def refusals() -> list[tuple[str, str, str, bool]]:
    return [
        (e.action, e.details["query"], e.details["field"], e.details["rate_limited"])
        for e in AuditEvent.objects.filter(action="contact.search_refused").order_by("id")
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("06 12 34 56 78", "phone"),
        ("+33612345678", "phone"),
        ("0612345678", "phone"),
        ("marie.dupont@gmail.com", "email"),
        ("MARIE.DUPONT@GMAIL.COM", "email"),
        ("marie.dupont@g", "email"),
    ],
)
def test_a_coordinator_searching_a_masked_phone_or_address_gets_no_match_and_a_refusal(
    coordinator_client: Any, coordinator: Any, marie: Contact, query: str, field: str
) -> None:
    response = coordinator_client.get(URL, {"q": query})

    assert response.status_code == 400
    assert listed(response) == []
    html = response.content.decode()
    assert "vous sont masqu" in html and "Cherchez par nom ou par code postal" in html
    assert "marie.dupont@gmail.com" not in html.replace(f'value="{query}"', "")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.details) == (
        "contact.search_refused",
        coordinator,
        {"query": query, "field": field, "rate_limited": False},
    )
    assert not ContactEvent.objects.exists()  # nothing was revealed


def test_two_hundred_guesses_are_cut_off_by_the_reveal_limit_with_an_audit_trail(
    coordinator_client: Any, settings: Any, marie: Contact
) -> None:
    settings.CONTACT_REVEAL_RATE_LIMIT = "30/h"
    guesses = [f"06123456{n:02d}" for n in range(100)] + [
        f"marie.dupont{n}@gmail.com" for n in range(100)
    ]
    statuses = [coordinator_client.get(URL, {"q": guess}).status_code for guess in guesses]

    assert statuses == [400] * 30 + [429] * 170
    assert [e[1] for e in refusals()] == guesses
    assert [e[3] for e in refusals()] == [False] * 30 + [True] * 170
    last = coordinator_client.get(URL, {"q": "0612345678"})
    assert last.status_code == 429
    assert 0 < int(last["Retry-After"]) <= 3600  # within the limit's hour
    assert "Trop de recherches refusées ou de révélations" in last.content.decode()
    assert listed(last) == []


def test_the_spent_budget_also_stops_reveals(
    coordinator_client: Any, settings: Any, marie: Contact
) -> None:
    settings.CONTACT_REVEAL_RATE_LIMIT = "3/h"
    for n in range(3):
        coordinator_client.get(URL, {"q": f"06123456{n:02d}"})
    response = coordinator_client.post(reverse("people:contact_reveal", args=[marie.pk]))

    assert response.status_code == 429
    html = response.content.decode()
    assert "Trop de révélations en peu de temps" in html
    assert "marie.dupont@gmail.com" not in html and "+33612345678" not in html
    assert not ContactEvent.objects.filter(kind="reveal").exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        *["contact.search_refused"] * 3,
        "contact.reveal_refused",
    ]


def test_reveals_are_rate_limited_and_a_refused_one_is_audited(
    coordinator_client: Any, settings: Any, marie: Contact
) -> None:
    settings.CONTACT_REVEAL_RATE_LIMIT = "2/h"
    url = reverse("people:contact_reveal", args=[marie.pk])
    statuses = [coordinator_client.post(url).status_code for _ in range(3)]
    htmx = coordinator_client.post(url, headers={"HX-Request": "true"})

    assert statuses == [200, 200, 429]
    # htmx swaps no 4xx answer: the fragment with the message comes as a 200.
    assert htmx.status_code == 200
    assert "Trop de révélations en peu de temps" in htmx.content.decode()
    assert "marie.dupont@gmail.com" not in htmx.content.decode()
    assert ContactEvent.objects.filter(kind="reveal").count() == 2
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "contact.reveal",
        "contact.reveal",
        "contact.reveal_refused",
        "contact.reveal_refused",
    ]


def test_a_coordinator_still_finds_people_by_what_they_see(
    coordinator_client: Any, marie: Contact
) -> None:
    other = make_contact("jean@orange.fr", last_name="Martin", postcode="75020")
    make_contact("luc@free.fr", last_name="Dupont", postcode="69003")  # another zone

    assert listed(coordinator_client.get(URL, {"q": "dup"})) == [str(marie.pk)]
    assert listed(coordinator_client.get(URL, {"q": "75020"})) == [str(other.pk)]
    assert listed(coordinator_client.get(URL, {"q": "750"})) == [str(other.pk), str(marie.pk)]
    # The start of an address that is not typed as one matches no address either.
    assert listed(coordinator_client.get(URL, {"q": "marie"})) == []
    assert not AuditEvent.objects.exists()


def test_hq_searches_phones_and_addresses_without_refusal(hq_client: Any, marie: Contact) -> None:
    assert listed(hq_client.get(URL, {"q": "06 12 34 56 78"})) == [str(marie.pk)]
    assert listed(hq_client.get(URL, {"q": "marie.dupont@gmail.com"})) == [str(marie.pk)]
    assert listed(hq_client.get(URL, {"q": "75011"})) == [str(marie.pk)]
    # Each page HQ reads in clear is a read of the base (logged), never a refusal.
    entries = AuditEvent.objects.order_by("pk")
    assert [(e.action, e.details["query"]["q"]) for e in entries] == [
        ("contacts.read", "06 12 34 56 78"),
        ("contacts.read", "marie.dupont@gmail.com"),
        ("contacts.read", "75011"),
    ]


def test_a_refused_search_of_another_coordinator_does_not_spend_this_ones_budget(
    coordinator_client: Any, other_coordinator: Any, settings: Any, marie: Contact
) -> None:
    from django.test import Client

    settings.CONTACT_REVEAL_RATE_LIMIT = "1/h"
    other = Client()
    other.force_login(other_coordinator)
    assert other.get(URL, {"q": "0612345678"}).status_code == 400
    assert other.get(URL, {"q": "0612345678"}).status_code == 429

    assert coordinator_client.get(URL, {"q": "0612345678"}).status_code == 400
