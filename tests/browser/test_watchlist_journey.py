"""Watchlists in Debian's Chromium: HQ creates one and finds the recent items it matched, tries
a query in the test box (htmx) and sees the terms highlighted, searches the items, deletes the
watchlist through the confirmation dialog; the pages pass axe."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.watch.models import Watchlist
from essaim.watch.services.search import index_items
from essaim.watch.tests.factories import ItemFactory
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


def test_hq_creates_tries_searches_and_deletes_a_watchlist(
    page: Any, live_server: Any, hq: Any
) -> None:
    hit = ItemFactory.create(title="Réforme des retraites : l’Assemblée vote", summary="")
    ItemFactory.create(title="<b>Lefèvre</b> répond", summary="")
    index_items([hit.pk, hit.pk + 1])
    login(page, live_server.url, hq.email, PASSWORD)
    page.get_by_role("link", name="Listes de veille").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Listes de veille")
    assert violations(page) == []

    page.locator(".page-actions").get_by_role("link", name="Nouvelle liste").click()
    page.get_by_label("Nom").fill("Retraites")
    page.get_by_label("Requête").fill("(retraite")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".form-field.has-error")).to_contain_text(
        "Parenthèse ouverte mais jamais fermée. (position 1)"
    )
    assert violations(page) == []
    page.get_by_label("Requête").fill("retraite NEAR/3 assemblée")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retraites")
    expect(page.locator("#matches tbody tr")).to_have_count(1)
    expect(page.locator("#matches")).to_contain_text("Réforme des retraites")
    assert violations(page) == []

    page.get_by_role("link", name="Listes de veille").click()
    page.locator("#test-kind").select_option("names")
    page.locator("#test-query").fill("lefevre")
    page.get_by_role("button", name="Essayer").click()
    expect(page.locator("#test-total")).to_have_text("1 élément trouvé.")
    expect(page.locator("#test-items mark.hit")).to_have_text("Lefèvre")
    expect(page.locator("#test-items li strong")).to_contain_text("<b>Lefèvre</b> répond")
    assert violations(page) == []

    page.locator("#watch-q").fill("retraite ASSEMBLEE")
    page.get_by_role("button", name="Chercher").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("l’Assemblée vote")
    assert violations(page) == []

    page.get_by_role("link", name="Listes de veille").click()
    page.locator("#watchlists").get_by_role("link", name="Retraites").click()
    page.locator(".page-actions").get_by_role("link", name="Supprimer").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_contain_text("Supprimer la liste « Retraites » ?")
    dialog.get_by_role("button", name="Supprimer").click()
    expect(page.locator(".messages")).to_contain_text("Liste de veille supprimée.")
    assert Watchlist.objects.count() == 0
