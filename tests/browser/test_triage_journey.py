"""The triage in Debian's Chromium, on a phone-sized screen: a veilleur finds the stories to
triage from their home page, takes one, marks it urgent with a note, and the alert arrives in
the caught mail of the HQ member who chose alerts by email; the pages pass axe."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Stage
from essaim.army.tests.factories import make_volunteer
from essaim.watch.models import Alert, AlertPreference, Story, Watchlist, WatchlistMatch
from essaim.watch.tests.factories import ItemFactory
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


def test_a_veilleur_marks_a_story_urgent_and_the_alert_arrives_by_mail(
    phone_page: Any, live_server: Any, smtp_recorder: Any, hq: Any
) -> None:
    AlertPreference.objects.create(user=hq, in_app=True, email=True)
    veilleur = make_volunteer("veilleur@equipe.test", roles={"veilleur": Stage.ACTIVE}).user
    veilleur.set_password(PASSWORD)
    veilleur.save()
    watchlist = Watchlist.objects.create(name="Candidats", kind="names", query="Dupont")
    item = ItemFactory.create(title="Dupont visé par une plainte", summary="")
    story = Story.objects.create(title=item.title, first_item=item, first_source=item.source)
    item.story = story
    item.save(update_fields=["story"])
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["dupont"])

    page = phone_page
    login(page, live_server.url, veilleur.email, PASSWORD)
    page.locator("#panel-triage").get_by_role("link", name="Trier les sujets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tri")
    assert violations(page) == []
    page.locator("#triage-queue").get_by_role("link", name="Dupont visé par une plainte").click()
    page.get_by_role("button", name="Prendre ce sujet").click()
    expect(page.locator(".messages")).to_contain_text("Le sujet est à vous")
    assert violations(page) == []
    page.get_by_label("Urgent").check()
    page.get_by_label("Note").fill("À relayer avant midi")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.locator(".messages")).to_contain_text("Décision enregistrée : Urgent.")

    alert = Alert.objects.get()
    [mail] = smtp_recorder.to(hq.email)
    assert mail.message["Subject"] == "Essaim : alerte de veille, Dupont visé par une plainte"
    assert "Note : À relayer avant midi" in mail.text
    assert f"/veille/alertes/{alert.pk}/" in mail.text
