"""Accessibility: axe-core (npm, installed at setup) on the main pages of each role of the demo,
on a desktop and on a phone-sized screen; a serious or critical violation fails the test. Then
the keyboard: the skip link comes first, the phone menu opens and closes, focus is visible."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command

from essaim.accounts.services import DEMO_COORDINATOR, DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from essaim.army.tests.factories import seed_roles
from tests.browser.helpers import AXE, login, violations

pytestmark = pytest.mark.browser

PAGES: dict[str | None, list[str]] = {
    None: ["/comptes/connexion/", "/comptes/connexion/lien/", "/inscription/", "/je-m-engage/"],
    DEMO_HQ_ADMIN: [
        "/",
        "/base/contacts/",
        "/base/contacts/nouveau/",
        "/base/segments/",
        "/base/segments/nouveau/",
        "/base/etiquettes/",
        "/base/imports/",
        "/base/imports/nouveau/",
        "/campagnes/",
        "/campagnes/nouvelle/",
        "/armee/equipes/",
        "/armee/missions/gerer/",
        "/armee/missions/gerer/nouvelle/",
        "/armee/appels/",
        "/armee/appels/nouveau/",
        "/veille/sources/",
        "/veille/sources/ajouter/",
        "/veille/sources/opml/import/",
        "/veille/signalements/",
        "/comptes/audit/",
        "/comptes/jetons/",
        "/comptes/securite/",
        "/comptes/double-facteur/",
        "/comptes/guide-de-style/",
    ],
    DEMO_COORDINATOR: [
        "/",
        "/base/contacts/",
        "/armee/equipes/",
        "/armee/missions/gerer/",
        "/veille/signalements/",
        "/comptes/notifications/",
    ],
    DEMO_VOLUNTEER: [
        "/",
        "/armee/moi/",
        "/armee/missions/",
        "/armee/invitations/",
        "/armee/equipes/",
        "/veille/signaler/",
        "/comptes/notifications/",
    ],
}


@pytest.fixture
def demo(settings: Any) -> dict[str, str]:
    """The demo `make run` fills, and its printed logins."""
    settings.DEMO = True
    settings.STAFF_2FA_REQUIRED = False
    seed_roles()  # a live server's database is flushed of the migrations' rows
    call_command("demo", contacts=20, stdout=StringIO())
    out = StringIO()
    call_command("bootstrap_users", stdout=out)
    cache.clear()
    return dict(re.findall(r"(\S+@essaim\.localhost)\s+(\S+)", out.getvalue()))


def audit(page: Any, base_url: str, paths: list[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        response = page.goto(base_url + path)
        assert response.status == 200, path
        found += violations(page)
    return found


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
@pytest.mark.parametrize("email", [None, DEMO_HQ_ADMIN, DEMO_COORDINATOR, DEMO_VOLUNTEER])
def test_the_main_pages_of_each_role_have_no_serious_violation(
    request: pytest.FixtureRequest,
    live_server: Any,
    demo: dict[str, str],
    viewport: str,
    email: str | None,
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    page = request.getfixturevalue(viewport)
    if email:
        login(page, live_server.url, email, demo[email])
    assert audit(page, live_server.url, PAGES[email]) == []


def test_the_phone_menu_opens_from_its_button_and_is_accessible_open(
    phone_page: Any, live_server: Any, demo: dict[str, str]
) -> None:
    login(phone_page, live_server.url, DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    menu = phone_page.get_by_role("button", name="Menu")
    contacts = phone_page.get_by_role("link", name="Contacts", exact=True)
    assert menu.get_attribute("aria-expanded") == "false"
    assert not contacts.is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert contacts.is_visible()
    assert violations(phone_page) == []
    # Escape folds it again and gives the focus back to the button.
    contacts.focus()
    phone_page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert phone_page.evaluate("document.activeElement.dataset.menuButton") == ""
    assert not contacts.is_visible()
    # Each pillar folds on its own.
    menu.click()
    phone_page.get_by_text("Base", exact=True).click()
    assert not contacts.is_visible()
    assert phone_page.get_by_role("link", name="Campagnes", exact=True).is_visible()


def test_the_keyboard_reaches_the_content_by_the_skip_link_with_a_visible_focus(
    page: Any, live_server: Any, demo: dict[str, str]
) -> None:
    login(page, live_server.url, DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    page.goto(f"{live_server.url}/base/contacts/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab stop is in the content (the search field), not back in the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    # The desktop menu is open, its current entry marked.
    current = page.locator('#site-nav a[aria-current="page"]')
    assert current.inner_text() == "Contacts"
