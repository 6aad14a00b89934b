"""Launching a campaign and deleting a saved template ask first, through the one confirmation
component. The launch's question says to how many people it goes, counted as the launch counts
(estimate_audience), and when, and posts that count back (confirm=N); a launch posted without
it is asked again, and one whose audience is no longer N is asked again with the new number,
never sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.mailing.models import Campaign, CampaignTemplate, Delivery
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def draft(user: Any, **fields: Any) -> Campaign:
    return svc.save_draft(
        user=user,
        name="Appel",
        from_address="equipe@essaim.localhost",
        subject=fields.pop("subject", "Votez"),
        body_markdown="Rendez-vous samedi.",
        audience_all=fields.pop("audience_all", True),
        **fields,
    )


def test_the_launch_page_holds_a_dialog_that_says_to_how_many_people(
    hq_client: Client, hq: Any
) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    make_contact("c@exemple.fr", consents={"news": "withdrawn"})  # not mailable: not counted
    campaign = draft(hq, subject='Bonjour {{ first_name|default:"ami·e" }}')
    url = f"/campagnes/{campaign.pk}/lancement/"

    page = hq_client.get(url).content.decode()

    assert (
        '<button type="submit" name="action" value="launch" data-dialog-open="launch-dialog">'
        "Lancer la campagne</button>"
    ) in page
    assert '<dialog id="launch-dialog" class="confirm-dialog"' in page
    assert (
        '<h2 class="confirm-title" id="launch-dialog-title">Lancer vers 2 personnes ?</h2>' in page
    )
    assert (
        '<p class="confirm-text">Le public est figé au lancement : ces personnes recevront '
        "«\u00a0Bonjour [prénom, sinon « ami·e »]\u00a0». Les envois partent tout de suite ; "
        "ils peuvent être mis en pause ou annulés.</p>"
    ) in page
    assert '<input type="hidden" name="action" value="launch">' in page
    assert '<input type="hidden" name="confirm" value="2">' in page


def test_one_person_is_said_in_the_singular_and_a_scheduled_launch_says_when(
    hq_client: Client, hq: Any
) -> None:
    make_contact("a@exemple.fr")
    at = timezone.make_aware(dt.datetime(2099, 3, 14, 18, 30))
    campaign = draft(hq, scheduled_at=at)

    page = hq_client.get(f"/campagnes/{campaign.pk}/lancement/").content.decode()

    assert 'id="launch-dialog-title">Lancer vers 1 personne ?</h2>' in page
    assert (
        "cette personne recevra «\u00a0Votez\u00a0». Les envois partiront le 14/03/2099 18:30"
        in page
    )


def test_a_launch_posted_without_its_confirmation_is_asked_again_and_sends_nothing(
    hq_client: Client, hq: Any
) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    campaign = draft(hq)

    response = hq_client.post(f"/campagnes/{campaign.pk}/lancement/", {"action": "launch"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Appel</h1>" in page and 'class="confirm card"' in page
    assert 'id="launch-dialog-title">Lancer vers 2 personnes ?</h2>' in page
    campaign.refresh_from_db()
    assert (campaign.status, campaign.audience_count) == (Campaign.Status.DRAFT, None)
    assert Delivery.objects.count() == 0


def test_the_confirmed_launch_goes_to_the_number_it_said(hq_client: Client, hq: Any) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    campaign = draft(hq)

    response = hq_client.post(
        f"/campagnes/{campaign.pk}/lancement/", {"action": "launch", "confirm": "2"}
    )

    assert response["Location"] == f"/campagnes/{campaign.pk}/"
    campaign.refresh_from_db()
    assert campaign.audience_count == 2 and Delivery.objects.count() == 2


def test_a_segment_grown_since_the_question_is_asked_again_with_its_new_number(
    hq_client: Client, hq: Any
) -> None:
    make_contact("a@exemple.fr", departement="75")
    make_contact("b@exemple.fr", departement="75")
    make_contact("lyon@exemple.fr", departement="69")
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    campaign = draft(hq, audience_all=False, segment=paris)
    url = f"/campagnes/{campaign.pk}/lancement/"
    shown = hq_client.get(url).content.decode()
    assert 'id="launch-dialog-title">Lancer vers 2 personnes ?</h2>' in shown
    assert '<input type="hidden" name="confirm" value="2">' in shown
    make_contact("c@exemple.fr", departement="75")

    response = hq_client.post(url, {"action": "launch", "confirm": "2"})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="launch-dialog-title">Lancer vers 3 personnes ?</h2>' in page
    assert (
        '<p class="message warning">Le public a changé depuis votre confirmation pour '
        "2 personnes : relisez le nombre avant de lancer.</p>"
    ) in page
    assert '<input type="hidden" name="confirm" value="3">' in page
    campaign.refresh_from_db()
    assert (campaign.status, campaign.audience_count, campaign.frozen_at) == (
        Campaign.Status.DRAFT,
        None,
        None,
    )
    assert Delivery.objects.count() == 0
    assert AuditEvent.objects.filter(action="campaign.launch").count() == 0
    # The new question's answer launches, to the number it said.
    assert hq_client.post(url, {"action": "launch", "confirm": "3"}).status_code == 302
    assert sorted(Delivery.objects.values_list("email", flat=True)) == [
        "a@exemple.fr",
        "b@exemple.fr",
        "c@exemple.fr",
    ]


def test_a_shrunk_audience_is_asked_again_too(hq_client: Client, hq: Any) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr", consents={"news": "withdrawn"})
    campaign = draft(hq)

    page = hq_client.post(
        f"/campagnes/{campaign.pk}/lancement/", {"action": "launch", "confirm": "2"}
    ).content.decode()

    assert 'id="launch-dialog-title">Lancer vers 1 personne ?</h2>' in page
    assert "Le public a changé depuis votre confirmation pour 2 personnes" in page
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize("value", ["", "1", "abc", "-2", "2.0", " 2", "²", "9" * 19])
def test_a_launch_confirmed_for_anything_but_the_audience_is_not_sent(
    hq_client: Client, hq: Any, value: str
) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    campaign = draft(hq)

    response = hq_client.post(
        f"/campagnes/{campaign.pk}/lancement/", {"action": "launch", "confirm": value}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="launch-dialog-title">Lancer vers 2 personnes ?</h2>' in page
    assert ('class="message warning"' in page) is (value == "1")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.audience_count) == (Campaign.Status.DRAFT, None)
    assert Delivery.objects.count() == 0


def test_the_service_refuses_a_launch_whose_audience_is_not_the_expected_one(hq: Any) -> None:
    make_contact("a@exemple.fr")
    campaign = draft(hq)

    with pytest.raises(svc.AudienceChanged) as refused:
        svc.launch_campaign(campaign, user=hq, expected=2)

    assert (refused.value.count, refused.value.expected) == (1, 2)
    assert Delivery.objects.count() == 0
    assert svc.launch_campaign(campaign, user=hq, expected=1) == 1


def test_deleting_a_template_asks_first(hq_client: Client, hq: Any) -> None:
    campaign = draft(hq)
    template = templates.save_template(campaign=campaign, name="Appel du samedi", user=hq)
    url = f"/campagnes/modeles/{template.pk}/suppression/"

    listing = hq_client.get("/campagnes/modeles/").content.decode()
    question = hq_client.get(url, headers={"HX-Request": "true"}).content.decode()
    bare = hq_client.post(url)

    assert f'<a href="{url}" hx-get="{url}" hx-target="#delete-dialog"' in listing
    assert "data-confirm=" not in listing
    assert 'id="delete-dialog-title">Supprimer le modèle « Appel du samedi » ?</h2>' in question
    assert bare.status_code == 200
    assert CampaignTemplate.objects.count() == 1
    assert hq_client.post(url, {"confirm": "1"}).status_code == 302
    assert CampaignTemplate.objects.count() == 0


def test_cancelling_asks_first_with_the_messages_not_yet_sent(hq_client: Client, hq: Any) -> None:
    for i in range(3):
        make_contact(f"r{i}@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    Delivery.objects.filter(email="r0@exemple.fr").update(status=Delivery.Status.ACCEPTED)
    url = f"/campagnes/{campaign.pk}/annulation/"

    detail = hq_client.get(f"/campagnes/{campaign.pk}/").content.decode()
    question = hq_client.get(url, headers={"HX-Request": "true"}).content.decode()
    bare = hq_client.post(url)

    assert f'<a class="button danger" href="{url}" hx-get="{url}" hx-target="#cancel-dialog"' in (
        detail
    )
    assert '<dialog id="cancel-dialog" class="confirm-dialog"' in detail
    assert 'id="cancel-dialog-title">Annuler la campagne « Appel » ?</h2>' in question
    assert "2 messages ne sont pas encore partis : ils ne partiront pas." in question
    assert '<button type="submit" class="danger">Annuler la campagne</button>' in question
    assert bare.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert hq_client.post(url, {"confirm": "1"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "accepted",
        "cancelled",
        "cancelled",
    ]
    # Once cancelled, there is nothing left to ask.
    assert hq_client.get(url)["Location"] == f"/campagnes/{campaign.pk}/"
