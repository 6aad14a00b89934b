"""The stream of stories in Debian's Chromium: HQ opens "Sujets" from the menu, sees forty
copies of one dispatch as one story, opens it (its spread drawn, its first source marked),
accepts a suggested merge; the pages pass axe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.watch.models import MergeSuggestion, Story
from essaim.watch.services.stories import ingest_items
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.test_stories import DISPATCH
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


def test_hq_follows_a_dispatch_through_the_stream_and_merges_a_suggested_item(
    page: Any, live_server: Any, hq: Any
) -> None:
    start = timezone.now() - dt.timedelta(hours=20)
    copies = [
        ItemFactory.create(
            source=SourceFactory.create(title=f"Journal {n}"),
            title="Dotations : les communes rurales privées de 300 millions d'euros",
            summary=DISPATCH,
            published_at=start + dt.timedelta(minutes=25 * n),
        )
        for n in range(40)
    ]
    short = ItemFactory.create(
        source=SourceFactory.create(title="Blog des maires"),
        title="Les maires ruraux en colère",
        summary="Les maires protestent contre la baisse des dotations.",
    )
    ingest_items([c.pk for c in copies] + [short.pk])
    story = Story.objects.get(items=copies[0])
    MergeSuggestion.objects.create(item=short, story=story, similar_item=copies[0], similarity=0.42)

    login(page, live_server.url, hq.email, PASSWORD)
    page.get_by_role("link", name="Sujets", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sujets")
    row = page.locator("#stories tbody tr").filter(has_text="Dotations")
    expect(row.locator("td.num").nth(0)).to_have_text("40")
    expect(row.locator("td.num").nth(1)).to_have_text("40")
    assert violations(page) == []

    row.get_by_role("link").click()
    expect(page.locator("#story-counts")).to_contain_text("40")
    expect(page.locator("#echoes .badge")).to_have_text("première source")
    expect(page.locator("#echoes tbody tr").first).to_contain_text("Journal 0")
    canvas = page.locator("#chart-story-spread")
    expect(canvas).to_be_visible()
    assert canvas.bounding_box()["height"] > 50
    assert violations(page) == []

    page.get_by_role("button", name="Rattacher").click()
    expect(page.locator("#story-counts")).to_contain_text("41")
    expect(page.locator("#echoes")).to_contain_text("Les maires ruraux en colère")
    page.screenshot(path="/tmp/h17/story.png", full_page=True)
