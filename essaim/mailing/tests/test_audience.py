from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from essaim.mailing.models import Delivery
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.tests.factories import CampaignFactory, make_audience
from essaim.people.models import Consent, Contact, Suppression, email_hash
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def frozen_emails(campaign: Any) -> list[str]:
    return sorted(Delivery.objects.filter(campaign=campaign).values_list("email", flat=True))


def test_freeze_keeps_only_consenting_unsuppressed_contacts() -> None:
    make_contact("oui@exemple.fr")
    make_contact("retire@exemple.fr", consents={"news": "withdrawn"})
    make_contact("attente@exemple.fr", consents={"news": "pending"})
    make_contact("autre-finalite@exemple.fr", consents={"mobilization": "granted"})
    suppressed = make_contact("supprime@exemple.fr")
    Suppression.objects.create(email_hash=suppressed.email_hash, reason="unsubscribe")
    campaign = CampaignFactory.create()

    count = freeze_audience(campaign, Contact.objects.all())

    assert count == 1
    assert frozen_emails(campaign) == ["oui@exemple.fr"]
    campaign.refresh_from_db()
    assert campaign.audience_count == 1
    assert campaign.frozen_at is not None


def test_freeze_writes_one_row_per_address_hash_even_for_duplicate_case_addresses() -> None:
    first = make_contact("Jean@exemple.fr")
    # A legacy row whose address differs only by case: same hash, so the same person.
    Contact.objects.create(
        email="JEAN@exemple.fr", email_key="JEAN@exemple.fr-legacy", email_hash=first.email_hash
    )
    Consent.objects.create(
        contact=Contact.objects.get(email="JEAN@exemple.fr"),
        purpose="news",
        status="granted",
        basis="membership",
        source="import",
    )
    campaign = CampaignFactory.create()

    assert freeze_audience(campaign, Contact.objects.all()) == 1
    assert freeze_audience(campaign, Contact.objects.all()) == 1  # freezing again adds nobody
    row = Delivery.objects.get(campaign=campaign)
    assert (row.email, row.email_hash, row.contact_id) == (
        "Jean@exemple.fr",
        first.email_hash,
        first.pk,
    )
    assert (row.status, row.attempts, row.first_name) == ("pending", 0, "Camille")


def test_freeze_sets_the_provider_group_from_the_domain() -> None:
    domains = {
        "gmail.com": "gmail",
        "googlemail.com": "gmail",
        "hotmail.fr": "microsoft",
        "outlook.com": "microsoft",
        "live.fr": "microsoft",
        "msn.com": "microsoft",
        "yahoo.fr": "yahoo",
        "aol.com": "yahoo",
        "orange.fr": "orange",
        "wanadoo.fr": "orange",
        "free.fr": "free",
        "sfr.fr": "sfr",
        "neuf.fr": "sfr",
        "laposte.net": "laposte",
        "icloud.com": "apple",
        "me.com": "apple",
        "mac.com": "apple",
        "exemple.fr": "other",
        "gmail.com.evil.test": "other",
    }
    for domain in domains:
        make_contact(f"x@{domain}")
    campaign = CampaignFactory.create()

    freeze_audience(campaign, Contact.objects.all())

    got = dict(Delivery.objects.filter(campaign=campaign).values_list("email", "provider"))
    assert got == {f"x@{d}": group for d, group in domains.items()}


def test_freeze_accepts_a_plain_queryset_and_still_filters_mailability() -> None:
    make_contact("a@exemple.fr", postcode="75011")
    make_contact("b@exemple.fr", postcode="69003")
    make_contact("c@exemple.fr", postcode="75011", consents={"news": "withdrawn"})
    campaign = CampaignFactory.create()
    paris = Contact.objects.filter(departement="75").order_by("email")
    assert freeze_audience(campaign, paris.all()) == 1
    assert frozen_emails(campaign) == ["a@exemple.fr"]


def test_freeze_issues_the_same_few_queries_for_ten_or_ten_thousand_contacts() -> None:
    make_audience(10, prefix="petit")
    small = CampaignFactory.create()
    with CaptureQueriesContext(connection) as few:
        assert freeze_audience(small, Contact.objects.all()) == 10
    make_audience(10_000, prefix="grand")
    big = CampaignFactory.create()
    with CaptureQueriesContext(connection) as many:
        assert freeze_audience(big, Contact.objects.all()) == 10_010
    writes = [q for q in few.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == 1
    assert len(many.captured_queries) == len(few.captured_queries)
    assert (
        Delivery.objects.filter(campaign=big, email_hash=email_hash("grand9999@exemple.fr")).count()
        == 1
    )
