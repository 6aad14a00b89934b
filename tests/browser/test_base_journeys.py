"""The base's main journeys, in Debian's Chromium: HQ imports a CSV and watches it run, builds a
segment and exports it; a coordinator sees masked details, reveals one, and the audit log shows
it. (Sign-up and confirmation: test_signup_journey.py; volunteer refusal: test_access_journey.py.)
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.utils import timezone
from huey.contrib.djhuey import HUEY
from playwright.sync_api import expect

from essaim.accounts.models import AuditEvent
from essaim.accounts.tests.factories import PASSWORD
from essaim.people.models import Consent, Contact, ImportBatch, Segment
from tests.browser.helpers import login

ROWS = [
    ["Courriel", "Prénom", "Nom", "Code postal", "Tags"],
    ["marie.curie@exemple.fr", "Marie", "Curie", "75005", "sciences"],
    ["PIERRE.CURIE@exemple.fr", "Pierre", "Curie", "75005", "sciences"],
    ["louise.michel@exemple.fr", "Louise", "<script>alert(1)</script>", "69001", "commune"],
    ["pas-une-adresse", "Jean", "Invalide", "75001", ""],
]


def test_hq_imports_a_csv_watches_it_run_builds_a_segment_and_exports_it(
    page, live_server, hq, tmp_path: Path
):
    path = tmp_path / "adherents.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(ROWS)
    login(page, live_server.url, hq.email, PASSWORD)

    page.get_by_role("link", name="Imports", exact=True).click()
    page.goto(f"{live_server.url}/base/imports/nouveau/")
    page.set_input_files("input[type=file]", str(path))
    page.select_option("select[name=basis]", "membership")
    page.check("input[name=purposes][value=news]")
    page.fill("input[name=source]", "fichier adhérents")
    page.get_by_role("button", name="Envoyer et choisir les colonnes").click()
    # Headers were guessed: Courriel → e-mail, Prénom, Nom, Code postal, Tags.
    assert page.locator("#col_0").input_value() == "email"
    assert page.locator("#col_3").input_value() == "postcode"

    # The job waits in the real queue: the page shows a bar that is not done yet.
    HUEY.immediate = False
    try:
        HUEY.flush()
        page.get_by_role("button", name="Lancer l'import").click()
        page.wait_for_url(f"{live_server.url}/base/imports/*/")
        bar = page.locator(".progress progress")
        assert bar.get_attribute("value") == "0"
        assert HUEY.pending_count() == 1
        HUEY.execute(HUEY.dequeue())  # the worker runs it
    finally:
        HUEY.flush()
        HUEY.immediate = True
    # The bar polls itself (htmx) and reaches 100 % without a reload.
    expect(page.locator(".progress progress")).to_have_attribute("value", "100", timeout=15_000)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.imported, batch.duplicates, batch.invalid) == ("done", 3, 0, 1)
    assert page.get_by_role("link", name="Télécharger les lignes invalides (CSV)").is_visible()

    # A segment: tag "sciences", département 75 — its count follows the filters live.
    page.get_by_role("link", name="Segments", exact=True).click()
    page.goto(f"{live_server.url}/base/segments/nouveau/")
    page.fill("input[name=name]", "Scientifiques parisiens")
    page.select_option("select[name=tags_any]", label="sciences")
    page.select_option("select[name=departements]", "75")
    page.locator("#live-count .figure").filter(has_text="2").wait_for()
    page.get_by_role("button", name="Enregistrer").click()
    # Saved once the list comes back with it: read the database only then (it raced the POST).
    row = page.locator("tr", has_text="Scientifiques parisiens")
    expect(row).to_be_visible()
    segment = Segment.objects.get(name="Scientifiques parisiens")

    with page.expect_download() as download_info:
        row.get_by_role("button", name="Exporter (CSV)").click()
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert "marie.curie@exemple.fr" in exported and "louise.michel" not in exported
    assert (
        AuditEvent.objects.filter(action="segment.export", object_id=str(segment.pk)).count() == 1
    )

    # Names with markup are shown as text, never run.
    page.goto(f"{live_server.url}/base/contacts/")
    assert page.get_by_text("<script>alert(1)</script>").count() == 1


def test_coordinator_sees_masked_details_reveals_one_and_the_audit_log_shows_it(
    page, live_server, coordinator, hq, browser
):
    now = timezone.now()
    contact = Contact.objects.create(
        email="militante@exemple.fr",
        email_key="militante@exemple.fr",
        email_hash="h1",
        first_name="Olympe",
        last_name="de Gouges",
        phone="+33612345678",
        postcode="75011",
        departement="75",
        region="11",
        source="test",
        created_at=now,
        updated_at=now,
    )
    Consent.objects.create(
        contact=contact, purpose="news", status="granted", basis="membership", source="import"
    )
    login(page, live_server.url, coordinator.email, PASSWORD)
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="de Gouges").first.click()
    html = page.content()
    assert "militante@exemple.fr" not in html and "+33612345678" not in html

    page.get_by_role("button", name="Révéler").click()
    page.get_by_text("militante@exemple.fr").wait_for()
    event = AuditEvent.objects.get(action="contact.reveal")
    assert (event.actor, event.object_id) == (coordinator, str(contact.pk))

    hq_context = browser.new_context(locale="fr-FR")
    hq_page = hq_context.new_page()
    try:
        login(hq_page, live_server.url, hq.email, PASSWORD)
        hq_page.get_by_role("link", name="Journal d'audit").click()
        row = hq_page.locator("tr", has_text="a révélé l'adresse et le téléphone de")
        assert f"{coordinator.full_name} a révélé" in row.inner_text()
        assert "de Gouges" in row.inner_text()
    finally:
        hq_context.close()
