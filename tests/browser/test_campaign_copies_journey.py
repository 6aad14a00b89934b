"""HQ's campaign journey beyond the first send, on a desktop and on a phone: a subject with a
personalization field (refused at the field when the field is unknown), the preview at a
desktop and at a phone width, the message saved as a template and a campaign started from it,
a duplicate; axe-core on every page on the way."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.mailing.models import Campaign, CampaignTemplate
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, violations

pytestmark = pytest.mark.browser

SUBJECT = 'Bonjour {{ first_name|default:"ami·e" }} !'
BODY = "Rendez-vous **samedi**, place de la République."


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_hq_personalizes_the_subject_previews_on_two_widths_saves_a_template_and_duplicates(
    request: pytest.FixtureRequest, live_server: Any, hq: Any, viewport: str
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    page = request.getfixturevalue(viewport)
    phone = viewport == "phone_page"
    base = live_server.url
    make_contact("marie@exemple.fr", first_name="Marie", departement="75")
    Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    login(page, base, hq.email, PASSWORD)
    found: list[str] = []

    # An unknown field in the subject: the error is at the subject, nothing is saved.
    page.goto(f"{base}/campagnes/nouvelle/")
    found += violations(page)
    page.fill("input[name=subject]", "Bonjour {{ prenom }}")
    page.fill("textarea[name=body_markdown]", BODY)
    page.select_option("select[name=audience]", label="Paris")
    page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    field = page.locator(".form-field.has-error")
    expect(field).to_have_count(1)
    expect(field).to_contain_text("champ inconnu : prenom")
    expect(field.locator("input[name=subject]")).to_have_attribute("aria-invalid", "true")
    assert Campaign.objects.count() == 0
    found += violations(page)

    page.fill("input[name=subject]", SUBJECT)
    page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    campaign = Campaign.objects.get()
    page.wait_for_url(f"{base}/campagnes/{campaign.pk}/apercu/")
    expect(page.locator("#preview-subject")).to_have_text("Bonjour ami·e !")
    page.fill("#preview-contact", "marie@exemple.fr")
    page.get_by_role("button", name="Voir", exact=True).click()
    expect(page.locator("#preview-subject")).to_have_text("Bonjour Marie !")
    found += violations(page)

    # The same message in both frames, the phone's 390 pixels wide (or the screen's width).
    desktop, mobile = page.locator("#preview-desktop"), page.locator("#preview-phone")
    for frame in ("#preview-desktop", "#preview-phone"):
        expect(page.frame_locator(frame).locator("strong")).to_have_text("samedi")
    desktop_box, phone_box = desktop.bounding_box(), mobile.bounding_box()
    assert desktop_box is not None and phone_box is not None
    if phone:
        assert phone_box["width"] == desktop_box["width"] <= 390
        assert phone_box["y"] > desktop_box["y"]  # one above the other
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    else:
        assert phone_box["width"] == 392  # 390 inside its border
        assert desktop_box["width"] > phone_box["width"]
        assert phone_box["y"] == desktop_box["y"]  # side by side
        assert phone_box["x"] > desktop_box["x"]

    # The message saved as a template, listed, and a new campaign started from it.
    page.get_by_role("link", name="Enregistrer comme modèle").click()
    page.wait_for_url(f"{base}/campagnes/{campaign.pk}/modele/")
    found += violations(page)
    page.fill("input[name=name]", "Appel du samedi")
    page.get_by_role("button", name="Enregistrer le modèle").click()
    page.wait_for_url(f"{base}/campagnes/modeles/")
    expect(page.locator("#template-list")).to_contain_text("Appel du samedi")
    found += violations(page)
    template = CampaignTemplate.objects.get()
    page.get_by_role("link", name="Utiliser le modèle « Appel du samedi »").click()
    page.wait_for_url(f"{base}/campagnes/nouvelle/?modele={template.pk}")
    expect(page.locator("#from-template")).to_contain_text("Appel du samedi")
    expect(page.locator("input[name=subject]")).to_have_value(SUBJECT)
    expect(page.locator("textarea[name=body_markdown]")).to_have_value(BODY)
    found += violations(page)

    # A duplicate: a new draft, opened in its composer with the message and the audience.
    page.goto(f"{base}/campagnes/{campaign.pk}/apercu/")
    page.get_by_role("button", name="Dupliquer").click()
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    page.wait_for_url(f"{base}/campagnes/{copy.pk}/modifier/")
    expect(page.locator(".messages")).to_contain_text("Campagne dupliquée")
    expect(page.locator("input[name=subject]")).to_have_value(SUBJECT)
    expect(page.locator("select[name=audience] option:checked")).to_have_text("Paris")
    assert (copy.subject, copy.body_markdown, copy.segment_id, copy.status) == (
        SUBJECT,
        BODY,
        campaign.segment_id,
        Campaign.Status.DRAFT,
    )
    found += violations(page)
    assert found == []
