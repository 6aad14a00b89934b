"""The other apps' parts of a GDPR access report come through
essaim.people.services.gdpr_sections, in a fixed order, after the base's own."""

from __future__ import annotations

from typing import Any

from essaim.people.services.gdpr import access_report
from essaim.people.services.gdpr_sections import sections
from essaim.people.tests.factories import ImportedContactFactory


def test_mailing_army_notifications_and_watch_register_their_sections_at_startup() -> None:
    assert [(s.name, s.order) for s in sections()] == [
        ("mailing", 10),
        ("army", 20),
        ("notifications", 25),
        ("watch", 30),
    ]
    assert [s.erase is not None for s in sections()] == [True, False, True, False]


def test_the_access_report_keeps_its_keys_in_the_same_order(db: Any) -> None:
    contact = ImportedContactFactory.create(
        email="ada@exemple.fr", first_name="Ada", postcode="75005", source_ref=""
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
        "notifications",
        "watch_sources",
        "watch_watchlists",
        "watch_submissions",
        "watch_triage_decisions",
        "watch_alert_preferences",
        "watch_syntheses",
        "watch_alert_mails",
    ]
