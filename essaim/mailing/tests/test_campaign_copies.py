"""Duplicating a campaign and saved message templates: HQ only, exact copies of the message and
the audience definition, nothing of a campaign's life; refused roles change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.api.testing import api_for
from essaim.mailing.models import Campaign, CampaignTemplate, Delivery, DeliveryClaim
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.models import Contact, Segment
from essaim.people.tests.factories import make_contact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

# What a copy takes from its campaign, and what it must not.
COPIED = [
    "from_name",
    "from_email",
    "reply_to",
    "subject",
    "preheader",
    "body_markdown",
    "html_template",
    "text_template",
    "purpose",
    "audience_all",
    "segment_id",
]


@pytest.fixture
def segments() -> tuple[Segment, Segment]:
    return (
        Segment.objects.create(name="Paris", definition={"departements": ["75"]}),
        Segment.objects.create(name="Lyon", definition={"departements": ["69"]}),
    )


@pytest.fixture
def sent(hq: Any, hq_admin: Any, segments: tuple[Segment, Segment]) -> Campaign:
    """A campaign that lived: approved, scheduled, launched to its segment, done."""
    paris, lyon = segments
    make_contact(
        "marie@exemple.fr",
        first_name="Marie",
        departement="75",
        consents={"news": "granted", "mobilization": "granted"},
    )
    campaign = svc.save_draft(
        user=hq,
        name="Appel du 18",
        from_address="equipe@essaim.localhost",
        reply_to="contact@campagne.test",
        subject='Bonjour {{ first_name|default:"ami·e" }}',
        preheader="Quatre jours pour convaincre",
        body_markdown="Rendez-vous **samedi**.",
        segment=paris,
        exclude_segments=[lyon],
        purpose="mobilization",
        scheduled_at=timezone.now() - dt.timedelta(hours=1),
    )
    svc.approve_campaign(campaign, user=hq_admin)
    svc.launch_campaign(campaign, Contact.objects.all())
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DONE)
    campaign.refresh_from_db()
    return campaign


def assert_fresh_copy(copy: Campaign, original: Campaign, author: Any) -> None:
    assert [getattr(copy, f) for f in COPIED] == [getattr(original, f) for f in COPIED]
    assert copy.pk != original.pk
    assert copy.name == f"Copie de {original.name}"
    assert copy.status == Campaign.Status.DRAFT
    assert (copy.created_by, copy.approved_by, copy.approved_at) == (author, None, None)
    assert (copy.scheduled_at, copy.frozen_at, copy.audience_count) == (None, None, None)
    assert (copy.started_at, copy.finished_at, copy.cancelled_at) == (None, None, None)
    assert list(copy.exclude_segments.all()) == list(original.exclude_segments.all())
    assert not Delivery.objects.filter(campaign=copy).exists()
    assert not DeliveryClaim.objects.filter(campaign=copy).exists()


# --- Duplicate ------------------------------------------------------------------------------


def test_a_duplicate_is_a_new_draft_with_the_message_and_the_audience_only(
    sent: Campaign, hq_admin: Any
) -> None:
    rows = Delivery.objects.count()

    copy = svc.duplicate_campaign(sent, user=hq_admin)

    copy.refresh_from_db()
    assert_fresh_copy(copy, sent, hq_admin)
    assert Delivery.objects.count() == rows == 1
    sent.refresh_from_db()
    assert (sent.status, sent.audience_count) == (Campaign.Status.DONE, 1)


def test_a_duplicate_of_a_campaign_to_everyone_keeps_everyone(hq: Any) -> None:
    original = svc.save_draft(
        user=hq,
        name="Tous",
        from_address="equipe@essaim.localhost",
        subject="Votez",
        body_markdown="Texte",
        audience_all=True,
    )

    copy = svc.duplicate_campaign(original, user=hq)

    assert (copy.audience_all, copy.segment, list(copy.exclude_segments.all())) == (True, None, [])


def test_a_message_with_another_apps_link_is_not_duplicated(hq: Any) -> None:
    # A call's message carries the call's link, which a plain campaign may not use.
    original = CampaignFactory.create(body_markdown="Rejoignez-nous : {{ call_url }}")

    with pytest.raises(svc.InvalidCampaign, match="champ inconnu : call_url"):
        svc.duplicate_campaign(original, user=hq)
    assert Campaign.objects.count() == 1


def test_hq_duplicates_from_the_page_and_lands_on_the_copys_composer(
    hq_client: Client, hq: Any, sent: Campaign
) -> None:
    response = hq_client.post(f"/campagnes/{sent.pk}/duplication/")

    copy = Campaign.objects.exclude(pk=sent.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/campagnes/{copy.pk}/modifier/"
    assert_fresh_copy(copy, sent, hq)
    form = hq_client.get(response["Location"]).context["form"]
    assert (form.initial["subject"], form.initial["audience"]) == (sent.subject, sent.segment_id)
    # The buttons are on the preview and on the follow-up page.
    for page in (f"/campagnes/{sent.pk}/apercu/", f"/campagnes/{sent.pk}/"):
        assert f'action="/campagnes/{sent.pk}/duplication/"' in hq_client.get(page).content.decode()


def test_a_refused_duplicate_says_why_on_the_preview(hq_client: Client) -> None:
    original = CampaignFactory.create(body_markdown="Rejoignez-nous : {{ call_url }}")

    response = hq_client.post(f"/campagnes/{original.pk}/duplication/")

    assert response["Location"] == f"/campagnes/{original.pk}/apercu/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["champ inconnu : call_url"]
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_coordinators_and_volunteers_cannot_duplicate(
    who: str, sent: Campaign, request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue(who)

    assert client.post(f"/campagnes/{sent.pk}/duplication/").status_code == 403
    assert Campaign.objects.count() == 1


def test_the_api_duplicates_for_hq_tokens_only(sent: Campaign, hq: Any, coordinator: Any) -> None:
    refused = api_for(coordinator).post(f"/api/v1/campaigns/{sent.pk}/duplicate")
    assert refused.status_code == 403
    assert Campaign.objects.count() == 1

    response = api_for(hq).post(f"/api/v1/campaigns/{sent.pk}/duplicate")

    copy = Campaign.objects.exclude(pk=sent.pk).get()
    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["status"], body["subject"]) == (copy.pk, "draft", sent.subject)
    assert (body["segment"], body["exclude_segments"]) == (
        sent.segment_id,
        [s.pk for s in sent.exclude_segments.all()],
    )
    assert (body["audience"], body["approved_by"], body["scheduled_at"]) == (None, None, None)
    assert_fresh_copy(copy, sent, hq)
    assert api_for(hq).post("/api/v1/campaigns/999999/duplicate").status_code == 404


# --- Saved templates ------------------------------------------------------------------------


def test_hq_saves_a_campaigns_message_as_a_template_lists_it_and_starts_a_campaign_from_it(
    hq_client: Client, hq: Any, sent: Campaign
) -> None:
    page = hq_client.get(f"/campagnes/{sent.pk}/modele/")
    assert page.context["form"].initial == {"name": "Appel du 18"}

    response = hq_client.post(f"/campagnes/{sent.pk}/modele/", {"name": "  Appel   du samedi "})

    assert response.status_code == 302
    assert response["Location"] == "/campagnes/modeles/"
    template = CampaignTemplate.objects.get()
    assert (template.name, template.subject, template.preheader, template.body_markdown) == (
        "Appel du samedi",
        sent.subject,
        sent.preheader,
        sent.body_markdown,
    )
    assert template.created_by == hq
    listing = hq_client.get("/campagnes/modeles/").content.decode()
    assert "Appel du samedi" in listing
    assert f'href="/campagnes/nouvelle/?modele={template.pk}"' in listing

    form = hq_client.get(f"/campagnes/nouvelle/?modele={template.pk}").context["form"]
    assert form.initial == {
        "subject": sent.subject,
        "preheader": sent.preheader,
        "body_markdown": sent.body_markdown,
    }
    created = hq_client.post(
        f"/campagnes/nouvelle/?modele={template.pk}",
        {
            "from_address": "equipe@essaim.localhost",
            "subject": form.initial["subject"],
            "preheader": form.initial["preheader"],
            "body_markdown": form.initial["body_markdown"],
            "audience": "all",
        },
    )
    assert created.status_code == 302
    new = Campaign.objects.exclude(pk=sent.pk).get()
    assert (new.subject, new.body_markdown, new.status) == (
        sent.subject,
        sent.body_markdown,
        Campaign.Status.DRAFT,
    )
    # Templates are content being written, as drafts: not in the audit log.
    assert not AuditEvent.objects.filter(action__startswith="template").exists()


def test_an_unknown_template_is_a_404(hq_client: Client) -> None:
    assert hq_client.get("/campagnes/nouvelle/?modele=999").status_code == 404
    assert hq_client.get("/campagnes/nouvelle/?modele=abc").status_code == 404


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "Ce champ est obligatoire."), ("appel DU samedi", "Un modèle porte déjà ce nom.")],
)
def test_a_template_needs_a_free_name_shown_at_the_field(
    hq_client: Client, sent: Campaign, name: str, error: str
) -> None:
    CampaignTemplate.objects.create(name="Appel du samedi", subject="x")

    response = hq_client.post(f"/campagnes/{sent.pk}/modele/", {"name": name})

    assert response.status_code == 400
    assert response.context["form"].errors == {"name": [error]}
    assert CampaignTemplate.objects.count() == 1


def test_a_message_with_another_apps_link_is_no_template(hq: Any) -> None:
    original = CampaignFactory.create(body_markdown="Rejoignez-nous : {{ call_url }}")

    with pytest.raises(svc.InvalidCampaign, match="ne peut pas servir de modèle"):
        templates.save_template(campaign=original, name="Appel", user=hq)
    assert CampaignTemplate.objects.count() == 0


def test_deleting_a_template_leaves_the_campaigns_started_from_it(
    hq_client: Client, sent: Campaign
) -> None:
    template = templates.save_template(campaign=sent, name="Appel", user=None)

    response = hq_client.post(f"/campagnes/modeles/{template.pk}/suppression/", {"confirm": "1"})

    assert response.status_code == 302
    assert CampaignTemplate.objects.count() == 0
    assert Campaign.objects.filter(pk=sent.pk).exists()
    assert "Aucun modèle pour l'instant." in hq_client.get("/campagnes/modeles/").content.decode()


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_coordinators_and_volunteers_can_neither_see_nor_write_templates(
    who: str, sent: Campaign, request: pytest.FixtureRequest
) -> None:
    template = templates.save_template(campaign=sent, name="Appel", user=None)
    client = request.getfixturevalue(who)

    assert client.get("/campagnes/modeles/").status_code == 403
    assert client.get(f"/campagnes/nouvelle/?modele={template.pk}").status_code == 403
    assert client.post(f"/campagnes/{sent.pk}/modele/", {"name": "Autre"}).status_code == 403
    assert client.post(f"/campagnes/modeles/{template.pk}/suppression/").status_code == 403
    assert list(CampaignTemplate.objects.values_list("name", flat=True)) == ["Appel"]
    assert Campaign.objects.count() == 1


def test_the_api_lists_and_saves_templates_for_hq_tokens_only(
    sent: Campaign, hq: Any, volunteer: Any
) -> None:
    assert api_for(volunteer).get("/api/v1/campaign-templates").status_code == 403
    refused = api_for(volunteer).post(
        "/api/v1/campaign-templates", {"campaign": sent.pk, "name": "Appel"}
    )
    assert refused.status_code == 403
    assert CampaignTemplate.objects.count() == 0

    created = api_for(hq).post("/api/v1/campaign-templates", {"campaign": sent.pk, "name": "Appel"})
    again = api_for(hq).post("/api/v1/campaign-templates", {"campaign": sent.pk, "name": "appel"})
    missing = api_for(hq).post("/api/v1/campaign-templates", {"campaign": 999999, "name": "X"})
    listed = api_for(hq).get("/api/v1/campaign-templates")

    template = CampaignTemplate.objects.get()
    assert created.status_code == 201
    assert created.json() | {"created_at": None} == {
        "id": template.pk,
        "name": "Appel",
        "subject": sent.subject,
        "preheader": sent.preheader,
        "body_markdown": sent.body_markdown,
        "created_by": hq.email,
        "created_at": None,
    }
    assert again.status_code == 422
    assert again.json()["error"]["details"] == [
        {"field": "name", "message": "Un modèle porte déjà ce nom."}
    ]
    assert missing.json()["error"]["details"] == [
        {"field": "campaign", "message": "No campaign with id 999999."}
    ]
    assert [t["name"] for t in listed.json()] == ["Appel"]
