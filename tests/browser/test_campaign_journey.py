"""The campaign journeys in Debian's Chromium: HQ writes a campaign, previews it in the sandboxed
frame, sends a test (caught by the local SMTP server), has it approved by a second HQ user above
the threshold, launches it to a segment, watches the progress, pauses and resumes; then, with a
real sender, a recipient unsubscribes from the link in the mail and the next campaign skips them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact
from tests.browser.helpers import login


def write_campaign(page: Any, base_url: str, subject: str, audience: str) -> Campaign:
    page.goto(f"{base_url}/campagnes/")
    page.get_by_role("link", name="Nouvelle campagne").first.click()
    page.fill("input[name=subject]", subject)
    page.fill(
        "textarea[name=body_markdown]",
        'Bonjour {{ first_name|default:"ami·e" }},\n\n**Samedi**, place de la République.',
    )
    page.select_option("select[name=audience]", label=audience)
    page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    campaign = Campaign.objects.get(subject=subject)
    page.wait_for_url(f"{base_url}/campagnes/{campaign.pk}/apercu/")
    return campaign


def test_hq_writes_previews_tests_and_launches_a_campaign(
    page, live_server, hq, hq_admin, smtp_recorder, settings
):
    settings.MAILING_APPROVAL_THRESHOLD = 1  # two recipients: a second HQ user must approve
    make_contact("marie@exemple.fr", first_name="Marie", departement="75")
    make_contact("louise@exemple.fr", first_name="<b>Louise</b>", departement="75")
    make_contact("jean@exemple.fr", first_name="Jean", departement="69")
    Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    login(page, live_server.url, hq.email, PASSWORD)

    page.get_by_role("link", name="Campagnes", exact=True).click()
    campaign = write_campaign(page, live_server.url, "Rendez-vous samedi", "Paris")

    # The message as a contact would get it, inside the sandboxed frame, first name escaped.
    page.fill("#preview-contact", "louise@exemple.fr")
    page.get_by_role("button", name="Voir", exact=True).click()
    frame = page.frame_locator("#preview-desktop")
    expect(frame.locator("p").first).to_have_text("Bonjour <b>Louise</b>,")
    expect(frame.locator("strong")).to_have_text("Samedi")

    page.fill("#test-addresses", "relecture@qg.test")
    page.get_by_role("button", name="Envoyer le test").click()
    expect(page.locator(".messages")).to_contain_text("Message de test envoyé à 1 adresse.")
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["relecture@qg.test"]]
    assert smtp_recorder.messages[0].message["Subject"] == "[TEST] Rendez-vous samedi"
    assert Delivery.objects.count() == 0

    # Following the link by its address: a click there is lost now and then while the preview
    # frame loads (under investigation), which is not what this journey tests.
    launch = page.get_by_role("link", name="Préparer le lancement")
    page.goto(live_server.url + launch.get_attribute("href"))
    expect(page.locator("#audience-estimate")).to_have_text("2")
    expect(page.locator("#approval-state")).to_contain_text("Un autre membre du QG")
    # The author cannot approve their own campaign; the launch, once confirmed in its dialog,
    # is refused and changes nothing.
    page.get_by_role("button", name="Lancer la campagne").click()
    page.get_by_role("dialog", name="Lancer vers 2 personnes ?").get_by_role(
        "button", name="Lancer", exact=True
    ).click()
    expect(page.locator(".message.error")).to_be_visible()
    assert Delivery.objects.count() == 0
    assert Campaign.objects.get().status == Campaign.Status.DRAFT

    # A second HQ user, in a browser of their own, approves it.
    second = page.context.browser.new_context(locale="fr-FR")
    try:
        approver = second.new_page()
        login(approver, live_server.url, hq_admin.email, PASSWORD)
        approver.goto(page.url)
        approver.get_by_role("button", name="Approuver la campagne").click()
        expect(approver.locator("#approval-state")).to_contain_text(hq_admin.email)
    finally:
        second.close()

    page.goto(page.url)  # not reload(): that would post the refused launch again
    expect(page.locator("#approval-state")).to_contain_text(hq_admin.email)
    page.get_by_role("button", name="Lancer la campagne").click()
    page.get_by_role("dialog", name="Lancer vers 2 personnes ?").get_by_role(
        "button", name="Lancer", exact=True
    ).click()
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
    page.get_by_role("button", name="Reprendre").click()
    expect(page.locator("#campaign-status")).to_have_text("En cours d'envoi")
    expect(page.locator("#result-accepted .figure")).to_have_text("2")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the sender runs as a process of its own, and only sees the test's data on "
    "PostgreSQL (on SQLite the test database lives in memory)",
)
def test_a_recipient_unsubscribes_from_the_mail_and_the_next_campaign_skips_them(
    page, live_server, hq, smtp_recorder, live_ledger
):
    make_contact("marie@exemple.fr", first_name="Marie", departement="75")
    make_contact("louise@exemple.fr", first_name="Louise", departement="75")
    Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    relay = f"smtp://{smtp_recorder.host}:{smtp_recorder.port}"
    login(page, live_server.url, hq.email, PASSWORD)

    def send(subject: str, expected_audience: str) -> Campaign:
        campaign = write_campaign(page, live_server.url, subject, "Paris")
        page.goto(f"{live_server.url}/campagnes/{campaign.pk}/lancement/")
        expect(page.locator("#audience-estimate")).to_have_text(expected_audience)
        page.get_by_role("button", name="Lancer la campagne").click()
        page.get_by_role("dialog").get_by_role("button", name="Lancer", exact=True).click()
        page.wait_for_url(f"{live_server.url}/campagnes/{campaign.pk}/")
        live_ledger.run_sender(relay)  # the real sender, until nothing is left to send
        expect(page.locator("#campaign-status")).to_have_text("Terminée", timeout=10_000)
        return campaign

    send("Rendez-vous samedi", "2")
    expect(page.locator("#result-accepted .figure")).to_have_text("2")
    assert sorted(m.rcpt_to[0] for m in smtp_recorder.messages) == [
        "louise@exemple.fr",
        "marie@exemple.fr",
    ]

    # Marie follows the link at the foot of the mail she got, in a browser of her own.
    [mail] = smtp_recorder.to("marie@exemple.fr")
    found = re.search(r"https?://\S+/desinscription/[^/\s]+/", mail.text)
    assert found, mail.text
    recipient = page.context.browser.new_context(locale="fr-FR")
    try:
        visitor = recipient.new_page()
        visitor.goto(live_server.url + urlsplit(found.group(0)).path)
        visitor.get_by_role("button", name="Me désinscrire").click()
        expect(visitor.locator("h1")).to_be_visible()
    finally:
        recipient.close()

    smtp_recorder.messages.clear()
    second = send("Dernier rappel", "1")
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["louise@exemple.fr"]]
    assert list(Delivery.objects.filter(campaign=second).values_list("email", flat=True)) == [
        "louise@exemple.fr"
    ]
