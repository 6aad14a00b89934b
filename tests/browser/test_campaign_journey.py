"""The campaign journey in Debian's Chromium: HQ writes a campaign, previews it in the sandboxed
frame, sends a test (caught by the local SMTP server), launches it to a segment and lands on the
live progress page."""

from __future__ import annotations

from playwright.sync_api import expect

from conftest import PASSWORD
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact
from tests.browser.conftest import login


def test_hq_writes_previews_tests_and_launches_a_campaign(page, live_server, hq, smtp_recorder):
    make_contact("marie@exemple.fr", first_name="Marie", departement="75")
    make_contact("louise@exemple.fr", first_name="<b>Louise</b>", departement="75")
    make_contact("jean@exemple.fr", first_name="Jean", departement="69")
    Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    login(page, live_server.url, hq.email, PASSWORD)

    page.get_by_role("link", name="Campagnes").click()
    page.get_by_role("link", name="Nouvelle campagne").click()
    page.fill("input[name=subject]", "Rendez-vous samedi")
    page.fill(
        "textarea[name=body_markdown]",
        'Bonjour {{ first_name|default:"ami·e" }},\n\n**Samedi**, place de la République.',
    )
    page.select_option("select[name=audience]", label="Paris")
    page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    campaign = Campaign.objects.get()
    page.wait_for_url(f"{live_server.url}/campagnes/{campaign.pk}/apercu/")

    # The message as a contact would get it, inside the sandboxed frame, first name escaped.
    page.fill("#preview-contact", "louise@exemple.fr")
    page.get_by_role("button", name="Voir", exact=True).click()
    frame = page.frame_locator("iframe.mail-preview")
    expect(frame.locator("p").first).to_have_text("Bonjour <b>Louise</b>,")
    expect(frame.locator("strong")).to_have_text("Samedi")

    page.fill("#test-addresses", "relecture@qg.test")
    page.get_by_role("button", name="Envoyer le test").click()
    expect(page.locator(".messages")).to_contain_text("Message de test envoyé à 1 adresse(s).")
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["relecture@qg.test"]]
    assert smtp_recorder.messages[0].message["Subject"] == "[TEST] Rendez-vous samedi"
    assert Delivery.objects.count() == 0

    # Following the link by its address: a click there is lost now and then while the preview
    # frame loads (under investigation), which is not what this journey tests.
    launch = page.get_by_role("link", name="Préparer le lancement")
    page.goto(live_server.url + launch.get_attribute("href"))
    expect(page.locator("#audience-estimate")).to_have_text("2")
    page.get_by_role("button", name="Lancer la campagne").click()
    page.wait_for_url(f"{live_server.url}/campagnes/{campaign.pk}/")
    expect(page.locator("#campaign-status")).to_have_text("En cours d'envoi")
    expect(page.locator(".progress progress")).to_have_attribute("value", "0")
    assert sorted(Delivery.objects.values_list("email", flat=True)) == [
        "louise@exemple.fr",
        "marie@exemple.fr",
    ]

    # A sender settles the rows: the bar follows without a reload (htmx polling).
    Delivery.objects.update(status=Delivery.Status.ACCEPTED)
    expect(page.locator(".progress progress")).to_have_attribute("value", "100", timeout=10_000)
    page.get_by_role("button", name="Mettre en pause").click()
    expect(page.locator("#campaign-status")).to_have_text("En pause")
