"""A volunteer is refused the contacts pages; HQ reaches them from the menu."""

from essaim.accounts.tests.factories import PASSWORD
from tests.browser.helpers import login


def test_volunteer_logs_in_and_is_refused_the_contacts_pages(phone_page, live_server, volunteer):
    login(phone_page, live_server.url, volunteer.email, PASSWORD)
    assert phone_page.get_by_role("link", name="Contacts").count() == 0
    response = phone_page.goto(f"{live_server.url}/base/contacts/")
    assert response.status == 403


def test_hq_reaches_the_contacts_from_the_menu(page, live_server, hq):
    login(page, live_server.url, hq.email, PASSWORD)
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.wait_for_url(f"{live_server.url}/base/contacts/")
    assert page.get_by_role("heading", name="Contacts").is_visible()
