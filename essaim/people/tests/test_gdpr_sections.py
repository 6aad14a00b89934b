"""The other apps' parts of a GDPR access report come through
essaim.people.services.gdpr_sections, in a fixed order, after the base's own."""

from __future__ import annotations

from typing import Any

from essaim.people.models import Purpose
from essaim.people.services.contacts import ConsentGrant, clean_contact_data, upsert_contact
from essaim.people.services.gdpr import access_report
from essaim.people.services.gdpr_sections import sections


def test_mailing_then_army_register_their_sections_at_startup() -> None:
    assert [(s.name, s.order) for s in sections()] == [("mailing", 10), ("army", 20)]
    assert [s.erase is not None for s in sections()] == [True, False]


def test_the_access_report_keeps_its_keys_in_the_same_order(db: Any) -> None:
    contact, _ = upsert_contact(
        data=clean_contact_data(email="ada@exemple.fr", first_name="Ada", postcode="75005"),
        consents=[ConsentGrant(purpose=Purpose.NEWS, basis="membership", source="import")],
        source="import",
        tags=[],
    )
    assert list(access_report(contact)) == [
        "contact",
        "tags",
        "consents",
        "timeline",
        "campaign_messages",
        "delivery_reports",
        "volunteering",
        "volunteer_calls",
    ]
