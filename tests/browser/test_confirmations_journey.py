"""Every irreversible or mass action asks through the one confirmation dialog, never the
browser's own confirm(): launching a campaign says to how many people it goes; cancelling one,
deleting a segment, a tag, a message template or a webhook and revoking an API token say what
they stop or delete. Annuler
changes nothing; the dialog's button acts. axe-core checks each dialog open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.api.models import ApiToken
from essaim.api.services import create_token
from essaim.mailing.models import Campaign, CampaignTemplate, Delivery
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates
from essaim.people.models import Segment, Tag
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def draft(user: Any) -> Campaign:
    return svc.save_draft(
        user=user,
        name="Appel du samedi",
        from_address="equipe@essaim.localhost",
        subject='Bonjour {{ first_name|default:"ami·e" }}',
        body_markdown="Rendez-vous samedi.",
        audience_all=True,
    )


def no_browser_confirm(page: Any) -> list[str]:
    """The browser's own dialogs the page opens (none expected), dismissed as they come."""
    opened: list[str] = []

    def record(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_launching_a_campaign_says_to_how_many_people_and_cancel_sends_nothing(
    request: pytest.FixtureRequest, live_server: Any, hq: Any, viewport: str
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    make_contact("marie@exemple.fr", first_name="Marie")
    make_contact("louise@exemple.fr", first_name="Louise")
    campaign = draft(hq)
    page = request.getfixturevalue(viewport)
    native = no_browser_confirm(page)
    url = f"{live_server.url}/campagnes/{campaign.pk}/lancement/"
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(url)

    page.get_by_role("button", name="Lancer la campagne").click()
    dialog = page.get_by_role("dialog", name="Lancer vers 2 personnes ?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "Le public est figé au lancement : ces personnes recevront "
        "«\u00a0Bonjour [prénom, sinon « ami·e »]\u00a0». Les envois partent tout de suite"
    )
    expect(dialog.get_by_role("link", name="Annuler")).to_be_focused()
    found = violations(page)

    dialog.get_by_role("link", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert page.url == url
    campaign.refresh_from_db()
    assert (campaign.status, Delivery.objects.count()) == (Campaign.Status.DRAFT, 0)

    page.get_by_role("button", name="Lancer la campagne").click()
    dialog.get_by_role("button", name="Lancer", exact=True).click()
    page.wait_for_url(f"{live_server.url}/campagnes/{campaign.pk}/")
    expect(page.locator(".messages")).to_contain_text("Campagne lancée vers 2 destinataires.")
    assert sorted(Delivery.objects.values_list("email", flat=True)) == [
        "louise@exemple.fr",
        "marie@exemple.fr",
    ]
    assert native == [] and found == []


Setup = Callable[[Any], tuple[str, str, str, Callable[[], bool]]]


def segment(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    SegmentFactory.create(name="Jeunes")
    return (
        "/base/segments/",
        "Supprimer « Jeunes »",
        "Supprimer le segment « Jeunes » ?",
        lambda: Segment.objects.filter(name="Jeunes").exists(),
    )


def tag(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    make_contact("a@exemple.fr", tags=["ancien"])
    make_contact("b@exemple.fr", tags=[Tag.objects.get(name="ancien")])
    TagFactory.create(name="autre")
    return (
        "/base/etiquettes/",
        "Supprimer « ancien »",
        "Supprimer « ancien », posée sur 2 contacts ?",
        lambda: Tag.objects.filter(name="ancien").exists(),
    )


def template(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    templates.save_template(campaign=draft(hq), name="Appel", user=hq)
    return (
        "/campagnes/modeles/",
        "Supprimer le modèle « Appel »",
        "Supprimer le modèle « Appel » ?",
        lambda: CampaignTemplate.objects.filter(name="Appel").exists(),
    )


def token(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    made, _ = create_token(user=hq, name="CRM")
    return (
        "/comptes/jetons/",
        f"Révoquer {made.prefix}",
        f"Révoquer le jeton {made.prefix} ?",
        lambda: ApiToken.objects.filter(pk=made.pk, revoked_at__isnull=True).exists(),
    )


def cancellation(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    make_contact("marie@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    return (
        f"/campagnes/{campaign.pk}/",
        "Annuler la campagne",
        "Annuler la campagne « Appel du samedi » ?",
        lambda: Campaign.objects.get(pk=campaign.pk).status != Campaign.Status.CANCELLED,
    )


def webhook(hq: Any) -> tuple[str, str, str, Callable[[], bool]]:
    from essaim.watch.models import WebhookEndpoint

    WebhookEndpoint.objects.create(url="https://hooks.exemple.fr/essaim", secret="s")
    return (
        "/veille/alertes/webhooks/",
        "Supprimer https://hooks.exemple.fr/essaim",
        "Supprimer le webhook https://hooks.exemple.fr/essaim ?",
        lambda: WebhookEndpoint.objects.filter(url="https://hooks.exemple.fr/essaim").exists(),
    )


@pytest.mark.parametrize("setup", [segment, tag, template, token, cancellation, webhook])
def test_deleting_or_cancelling_asks_in_the_dialog_annuler_keeps_and_the_button_acts(
    page: Any, live_server: Any, hq: Any, setup: Setup
) -> None:
    path, link, question, still_there = setup(hq)
    native = no_browser_confirm(page)
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(live_server.url + path)

    page.get_by_role("link", name=link).click()
    dialog = page.get_by_role("dialog", name=question)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Annuler")).to_be_focused()
    found = violations(page)
    dialog.get_by_role("link", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert page.url == live_server.url + path
    assert still_there()

    page.get_by_role("link", name=link).click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button").click()
    page.wait_for_url(live_server.url + path)
    expect(page.locator(".messages")).to_be_visible()
    assert not still_there()
    assert native == [] and found == []
