"""HQ's contact journey in Chromium, on a desktop and on a phone-sized screen: a contact added by
hand (its tag picked in the searchable field), found by a search, then every result of that
search tagged at once; erasing asks first, in a dialog that says how many; the segment builder
fits a phone. axe-core runs on each page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.models import AuditEvent
from essaim.accounts.tests.factories import PASSWORD
from essaim.people.models import Consent, Contact, ContactTag
from essaim.people.tests.factories import TagFactory, make_contact
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, violations

pytestmark = pytest.mark.browser


def tagged(name: str) -> list[str]:
    return sorted(
        ContactTag.objects.filter(tag__name=name).values_list("contact__email", flat=True)
    )


def fits(page: Any) -> bool:
    """Nothing wider than the screen: no sideways scrolling of the page itself."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_hq_adds_a_contact_searches_selects_all_results_and_tags_them(
    request: pytest.FixtureRequest, live_server: Any, hq: Any, viewport: str
) -> None:
    assert AXE.exists(), "run `make setup` (npm ci)"
    page = request.getfixturevalue(viewport)
    for i in range(3):
        make_contact(f"dupont{i}@exemple.fr", last_name="Dupont")
    make_contact("martin@exemple.fr", last_name="Martin")
    TagFactory.create(name="adhérents")
    login(page, live_server.url, hq.email, PASSWORD)

    page.goto(f"{live_server.url}/base/contacts/")
    page.get_by_role("link", name="Ajouter un contact").click()
    page.wait_for_url(f"{live_server.url}/base/contacts/nouveau/")
    assert violations(page) == [] and fits(page)
    page.fill("#id_email", "anne.dupont@exemple.fr")
    page.fill("#id_first_name", "Anne")
    page.fill("#id_last_name", "Dupont")
    page.fill("#id_postcode", "75011")
    page.check("input[name=purposes][value=news]")
    page.select_option("#id_basis", "explicit_consent")
    # The searchable field: typing filters the tags, a click picks one (shown as a chip).
    page.locator("#id_tags-ts-control").fill("adh")
    page.locator(".ts-dropdown .option", has_text="adhérents").click()
    expect(page.locator(".ts-control .item", has_text="adhérents")).to_be_visible()
    page.get_by_role("button", name="Ajouter le contact").click()
    page.wait_for_url(re.compile(r".*/base/contacts/\d+/$"))
    contact = Contact.objects.get(email="anne.dupont@exemple.fr")
    assert list(contact.tags.values_list("name", flat=True)) == ["adhérents"]
    assert list(Consent.objects.filter(contact=contact).values_list("source", "source_ref")) == [
        ("staff", f"user:{hq.pk}")
    ]
    expect(page.get_by_text(f"Saisi par {hq.email} (QG)")).to_be_visible()

    page.goto(f"{live_server.url}/base/contacts/")
    page.fill("#q", "dupont")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("#result-count")).to_have_text("4 contacts")
    assert violations(page) == [] and fits(page)
    page.get_by_label("les 4 résultats de cette recherche").check()
    # A tag nobody has yet: typed, then Enter creates it.
    page.locator("#bulk-tags-ts-control").fill("relance juin")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Étiqueter", exact=True).click()
    expect(page.get_by_text("4 contacts étiquetés « relance juin ».")).to_be_visible()
    assert tagged("relance juin") == [
        "anne.dupont@exemple.fr",
        "dupont0@exemple.fr",
        "dupont1@exemple.fr",
        "dupont2@exemple.fr",
    ]
    event = AuditEvent.objects.get(action="contacts.tag")
    assert (event.actor, event.details) == (
        hq,
        {"count": 4, "added": 4, "tags": ["relance juin"], "scope": "all", "q": "dupont"},
    )


def test_erasing_ticked_contacts_asks_in_a_dialog_that_says_how_many(
    page: Any, live_server: Any, hq: Any
) -> None:
    keep = make_contact("reste@exemple.fr", last_name="Reste")
    first = make_contact("un@exemple.fr", last_name="Un")
    second = make_contact("deux@exemple.fr", last_name="Deux")
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(f"{live_server.url}/base/contacts/")
    page.get_by_label("Cocher un@exemple.fr").check()
    page.get_by_label("Cocher deux@exemple.fr").check()
    expect(page.locator("[data-checked-count]")).to_have_text("(2)")
    page.get_by_role("button", name="Effacer…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Vous allez effacer 2 personnes")
    assert violations(page) == []
    # "Annuler" closes it and erases nobody.
    dialog.get_by_role("link", name="Annuler").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert Contact.objects.count() == 3
    page.get_by_role("button", name="Effacer…").click()
    page.get_by_role("dialog").get_by_role("button", name="Effacer 2 personnes").click()
    expect(page.get_by_text("2 contacts effacés")).to_be_visible()
    assert list(Contact.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not Contact.objects.filter(pk__in=[first.pk, second.pk]).exists()
    event = AuditEvent.objects.get(action="contacts.erase")
    assert event.details == {"count": 2, "scope": "selected", "ids": [first.pk, second.pk]}


def test_the_segment_builder_fits_a_phone_and_its_tags_are_searchable(
    phone_page: Any, live_server: Any, hq: Any
) -> None:
    make_contact("a@exemple.fr", tags=["sciences"])
    make_contact("b@exemple.fr", tags=["lettres"])
    login(phone_page, live_server.url, hq.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/base/segments/nouveau/")
    assert fits(phone_page), phone_page.evaluate("document.documentElement.scrollWidth")
    # Focus alone leaves the list closed (a late focus event must not cover the page); a tap
    # opens it.
    tags, choices = (
        phone_page.locator("#id_tags_any-ts-control"),
        phone_page.locator("#id_tags_any-ts-dropdown"),
    )
    tags.focus()
    expect(choices).to_be_hidden()
    tags.click()
    expect(choices).to_be_visible()
    tags.fill("sci")
    phone_page.locator(".ts-dropdown .option", has_text="sciences").click()
    expect(phone_page.locator("#live-count .figure")).to_have_text("1")
    assert fits(phone_page)
    assert violations(phone_page) == []
