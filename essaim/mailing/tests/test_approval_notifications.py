"""A campaign above the approval threshold waits for a second HQ member: a launch refused for
it tells the HQ members who may approve (never its author), with the page where they do it; the
approval, the launch or a cancellation reads it for all of them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Notification
from essaim.accounts.services.notifications import entries, unread_count
from essaim.accounts.tests.factories import UserFactory
from essaim.mailing.models import Campaign
from essaim.mailing.services import campaigns as svc
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def told(campaign: Campaign) -> list[tuple[str, bool]]:
    rows = Notification.objects.filter(kind="campaign_approval", object_id=campaign.pk)
    return sorted(
        (email, at is None) for email, at in rows.values_list("recipient__email", "read_at")
    )


@pytest.fixture
def big(settings: Any, hq: Any, hq_admin: Any, coordinator: Any) -> Campaign:
    settings.MAILING_APPROVAL_THRESHOLD = 2
    for i in range(3):
        make_contact(f"p{i}@exemple.fr")
    return svc.save_draft(
        user=hq,
        name="Appel du samedi",
        from_address="equipe@essaim.localhost",
        subject="Nous avons besoin de vous",
        body_markdown="Rendez-vous **samedi**.",
        audience_all=True,
    )


def test_a_launch_refused_for_approval_tells_the_other_hq_members(big: Campaign, hq: Any) -> None:
    third = UserFactory.create(email="tiers@qg.test", hq=True)
    UserFactory.create(email="ancien@qg.test", hq=True, is_active=False)
    with pytest.raises(svc.ApprovalRequired):
        svc.launch_campaign(big, user=hq)
    # Not its author (who launched), not the coordinator, not an inactive account.
    assert told(big) == [("admin@qg.test", True), ("tiers@qg.test", True)]
    (entry,) = entries(Notification.objects.filter(recipient=third))
    assert (entry.text, entry.url) == (
        "Campagne à approuver : Appel du samedi",
        reverse("mailing:campaign_launch", args=[big.pk]),
    )
    assert unread_count(third) == 1
    # The launch itself changed nothing.
    big.refresh_from_db()
    assert (big.status, big.audience_count) == (Campaign.Status.DRAFT, None)


def test_the_approval_reads_it_for_everyone_and_the_menu_counts_it_until_then(
    big: Campaign, hq: Any, hq_admin: Any
) -> None:
    with pytest.raises(svc.ApprovalRequired):
        svc.launch_campaign(big, user=hq)
    client = Client()
    client.force_login(hq_admin)
    menu = client.get(reverse("home")).content.decode().split('<div id="site-nav"')[1]
    assert (
        f'<a href="{reverse("mailing:campaign_list")}">Campagnes <span class="nav-count" '
        'aria-hidden="true">1</span>'
    ) in menu
    svc.approve_campaign(big, user=hq_admin)
    assert told(big) == [("admin@qg.test", False)]
    assert svc.launch_campaign(big, user=hq) == 3


def test_a_cancelled_campaign_waits_for_nobody(big: Campaign, hq: Any) -> None:
    with pytest.raises(svc.ApprovalRequired):
        svc.launch_campaign(big, user=hq)
    svc.cancel_campaign(big, user=hq)
    assert told(big) == [("admin@qg.test", False)]


def test_a_launch_that_needs_no_approval_tells_nobody(
    settings: Any, big: Campaign, hq: Any
) -> None:
    settings.MAILING_APPROVAL_THRESHOLD = 100
    assert svc.launch_campaign(big, user=hq) == 3
    assert not Notification.objects.exists()
