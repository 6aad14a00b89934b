"""Live updates in Debian's Chromium: HQ has the stream of stories open; a story arrives; the
page's poll (triggered here rather than waited for) shows "1 nouveau sujet — Afficher", not
while the tab is hidden but as soon as it shows again, and the link shows the list again in
place with the new story, the focus on it. The page passes axe with the banner."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.watch.models import Story
from essaim.watch.tests.factories import ItemFactory
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


def story(title: str) -> Story:
    item = ItemFactory.create(title=title, summary="")
    made = Story.objects.create(
        title=title, first_item=item, first_source=item.source, items_count=1, sources_count=1
    )
    item.story = made
    item.save(update_fields=["story"])
    return made


def set_visibility(page: Any, state: str) -> None:
    # Headless Chromium's tab is always visible: the state is set as the browser would.
    page.evaluate(
        """state => {
          Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_story_arriving_while_the_stream_is_open_is_announced_and_shown(
    page: Any, live_server: Any, hq: Any
) -> None:
    story("Un sujet déjà là")
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(f"{live_server.url}/veille/sujets/")
    expect(page.locator("#stories tbody tr")).to_have_count(1)
    banner = page.locator("#stream-news")
    expect(banner).to_have_attribute("aria-live", "polite")
    expect(banner).to_be_empty()

    story("Un sujet qui arrive")
    # Hidden, the poll is held: no request leaves (htmx sends synchronously from the trigger).
    set_visibility(page, "hidden")
    sent = page.evaluate(
        """() => {
          let sent = 0;
          const count = () => { sent += 1; };
          document.addEventListener("htmx:beforeSend", count);
          htmx.trigger("#stream-news", "essaim:visible");
          document.removeEventListener("htmx:beforeSend", count);
          return sent;
        }"""
    )
    assert sent == 0
    expect(banner).to_be_empty()

    # Visible again: it asks at once.
    with page.expect_response(lambda r: "/veille/sujets/nouveaux/" in r.url):
        set_visibility(page, "visible")
    expect(banner).to_have_text("1 nouveau sujet — Afficher")
    assert violations(page) == []
    page.screenshot(path="/tmp/h17-live/banner.png")

    banner.get_by_role("link", name="Afficher").click()
    expect(page.locator("#stories tbody tr")).to_have_count(2)
    expect(page.locator("#stories tbody tr").first).to_contain_text("Un sujet qui arrive")
    expect(page.locator("#stream-news")).to_be_empty()
    expect(page.locator("#stream-live")).to_be_focused()
    assert page.url == f"{live_server.url}/veille/sujets/"

    # The new poll counts from the story now shown: nothing more to tell.
    with page.expect_response(lambda r: "/veille/sujets/nouveaux/" in r.url) as answer:
        page.evaluate('htmx.trigger("#stream-news", "essaim:visible")')
    assert answer.value.text() == ""
    expect(page.locator("#stream-news")).to_be_empty()


def test_a_watchlists_page_follows_its_review_until_done(
    page: Any, live_server: Any, hq: Any
) -> None:
    from essaim.watch.models import Watchlist
    from essaim.watch.services.watchlists import backfill

    ItemFactory.create(title="La réforme des retraites", summary="")
    ItemFactory.create(title="Retraites : la grève", summary="")
    # As saved, its review queued and not yet run.
    watchlist = Watchlist.objects.create(
        name="Retraites", kind="topics", query="retraite", backfill_matches=0
    )
    login(page, live_server.url, hq.email, PASSWORD)
    page.goto(f"{live_server.url}/veille/listes/{watchlist.pk}/")
    progress = page.locator("#backfill-status")
    expect(progress).to_contain_text("Recherche dans les 30 derniers jours… 0 élément")
    assert violations(page) == []

    backfill(watchlist.pk)
    with page.expect_response(lambda r: f"/veille/listes/{watchlist.pk}/revue/" in r.url):
        page.evaluate('htmx.trigger("#backfill", "essaim:visible")')
    expect(progress).to_contain_text(": 2 éléments trouvés.")
    expect(page.locator("#backfill")).not_to_have_attribute("hx-get", re.compile(".*"))
    page.screenshot(path="/tmp/h17-live/backfill.png")
    progress.get_by_role("link", name="Afficher les correspondances").click()
    expect(page.locator("#matches tbody tr")).to_have_count(2)
