"""The API's contact search follows the list page's rule: a coordinator, who sees phones and
addresses masked, searches names and postcodes only; a phone or an address is refused (422),
audited with the query and counted as a reveal (429 once the budget is spent)."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api
from essaim.people.models import Contact

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

CONTACTS = "/api/v1/contacts"


def emails(response: Any) -> list[str]:
    return [c["email"] for c in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [("0612345678", "phone"), ("+33 6 12 34 56 78", "phone"), ("marie.curie@exemple.fr", "email")],
)
def test_a_coordinator_searching_a_masked_phone_or_address_is_refused_and_audited(
    coordinator_api: Api, coordinator: Any, paris_contact: Contact, query: str, field: str
) -> None:
    response = coordinator_api.get(CONTACTS, q=query)

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "field": "q",
            "message": "Phone numbers and addresses are masked for you: search by name or "
            "postcode.",
        }
    ]
    assert "marie.curie" not in response.content.decode().lower()
    event = AuditEvent.objects.get(action="contact.search_refused")
    assert (event.actor, event.details) == (
        coordinator,
        {"query": query, "field": field, "rate_limited": False},
    )


def test_two_hundred_guesses_over_the_api_are_cut_off_with_an_audit_trail(
    coordinator_api: Api, paris_contact: Contact, settings: Any
) -> None:
    settings.CONTACT_REVEAL_RATE_LIMIT = "30/h"
    statuses = [coordinator_api.get(CONTACTS, q=f"06123456{n:02d}").status_code for n in range(200)]

    assert statuses == [422] * 30 + [429] * 170
    refused = AuditEvent.objects.filter(action="contact.search_refused")
    assert refused.count() == 200
    assert refused.filter(details__rate_limited=True).count() == 170
    last = coordinator_api.get(CONTACTS, q="0612345678")
    assert last.status_code == 429
    # The seconds left in the hour's window: when in the hour the test runs decides the value.
    assert 0 < int(last["Retry-After"]) <= 3600


def test_a_coordinator_searches_names_and_postcodes_over_the_api(
    coordinator_api: Api, paris_contact: Contact, lyon_contact: Contact
) -> None:
    assert emails(coordinator_api.get(CONTACTS, q="cur")) == ["M•••@e•••.fr"]
    assert emails(coordinator_api.get(CONTACTS, q="7500")) == ["M•••@e•••.fr"]
    assert emails(coordinator_api.get(CONTACTS, q="69003")) == []  # another zone
    assert not AuditEvent.objects.filter(action="contact.search_refused").exists()


def test_hq_still_searches_phones_and_addresses_over_the_api(
    hq_api: Api, paris_contact: Contact
) -> None:
    assert emails(hq_api.get(CONTACTS, q="06 12 34 56 78")) == ["Marie.Curie@exemple.fr"]
    assert emails(hq_api.get(CONTACTS, q="marie.curie@")) == ["Marie.Curie@exemple.fr"]
    assert not AuditEvent.objects.filter(action="contact.search_refused").exists()
