"""The layout on a long page: on a desktop the side menu's column (its background and border)
runs down to the page's bottom while the menu itself stays in view; on a phone the menu folds
behind its button and, opened, spans the width above the page."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.tests.factories import PASSWORD
from tests.browser.helpers import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
LONG = "/comptes/guide-de-style/"  # the longest page there is: every component


def test_the_side_menus_column_reaches_the_bottom_of_a_long_page(
    page: Any, live_server: Any, hq: Any
) -> None:
    # A window taller than the menu: the column must not stop where the menu's entries do.
    page.set_viewport_size({"width": 1280, "height": 1400})
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(live_server.url + LONG)
    measure = """() => {
      const column = document.querySelector('.sidenav').getBoundingClientRect();
      const menu = document.querySelector('.sidenav > nav').getBoundingClientRect();
      return {columnTop: column.top, columnBottom: column.bottom, menuBottom: menu.bottom,
              window: window.innerHeight, scrolled: window.scrollY,
              page: document.documentElement.scrollHeight,
              topBar: document.querySelector('.topbar').getBoundingClientRect().bottom};
    }"""

    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    middle = page.evaluate(measure)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    bottom = page.evaluate(measure)

    assert bottom["page"] > 3 * 1400  # a long page indeed
    assert middle["menuBottom"] < middle["window"]  # the menu is shorter than the window…
    # …and its column fills the window wherever the page is scrolled, down to the very end.
    assert middle["columnTop"] < 0 and middle["columnBottom"] > middle["window"]
    assert round(bottom["columnBottom"] + bottom["scrolled"]) == bottom["page"]
    # The menu itself stays in view, just under the top bar.
    assert bottom["topBar"] < bottom["menuBottom"] < bottom["window"]


def test_on_a_phone_the_menu_opens_above_the_page_across_its_width(
    phone_page: Any, live_server: Any, hq: Any
) -> None:
    login(phone_page, live_server.url, hq.email, PASSWORD)
    phone_page.goto(live_server.url + LONG)
    assert not phone_page.locator("#site-nav").is_visible()

    phone_page.get_by_role("button", name="Menu").click()

    box = phone_page.locator("#site-nav").bounding_box()
    assert phone_page.locator("#site-nav").is_visible()
    assert (box["x"], box["width"]) == (0, 390)


def test_on_a_phone_a_wide_table_scrolls_in_its_box_and_the_page_never_sideways(
    phone_page: Any, live_server: Any, hq: Any
) -> None:
    # Hidden labels inside a table's cells are placed against the table's box: positioned
    # against the page instead, they stretched it past the screen's edge.
    login(phone_page, live_server.url, hq.email, PASSWORD)
    phone_page.goto(live_server.url + LONG)
    assert phone_page.locator(".table-wrap .visually-hidden").count() > 0
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
