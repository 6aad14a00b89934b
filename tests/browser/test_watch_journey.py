"""The watch in Debian's Chromium: HQ pastes a blog's home page, sees its feed found, and after
a round of the watcher sees its first items arrive; the pages pass axe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.watch.models import Source
from essaim.watch.tests.server import FeedServer, fixture
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


@pytest.fixture
def blog(settings: Any) -> Iterator[FeedServer]:
    server = FeedServer().start()
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    settings.FETCH_ALLOWED_PORTS = [server.port]
    settings.WATCH_HOST_GAP = 0.0
    server.route("/", fixture("blog_home.html"))
    server.route("/feed/", fixture("blog_feed.xml"), content_type="application/rss+xml")
    try:
        yield server
    finally:
        server.stop()


def run_watcher_round() -> None:
    """`essaim watcher --once`, in a thread of its own: Playwright's loop runs in this one."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            call_command("watcher", "--once", stdout=StringIO())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert failures == []


def test_hq_adds_a_blog_by_its_home_page_and_sees_its_first_items(
    page: Any, live_server: Any, hq: Any, blog: FeedServer
) -> None:
    login(page, live_server.url, hq.email, PASSWORD)
    page.get_by_role("link", name="Sources", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sources")
    assert violations(page) == []
    page.locator(".page-actions").get_by_role("link", name="Ajouter une source").click()
    assert violations(page) == []
    page.get_by_label("Adresse").fill(blog.url("/"))
    page.get_by_label("Type de média").select_option(label="Blog")
    page.get_by_role("button", name="Ajouter", exact=True).click()

    expect(page.locator(".messages")).to_contain_text(
        f"Flux trouvé sur la page {blog.url('/')} : {blog.url('/feed/')}."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Le blog de Jeanne Martin")
    expect(page.locator("#source-items")).to_contain_text("Aucun élément pour l'instant")
    source = Source.objects.get()
    assert (source.url, source.media_type) == (blog.url("/feed/"), "blog")

    run_watcher_round()
    page.reload()
    expect(page.locator("#items tbody tr")).to_have_count(3)
    expect(page.locator("#items")).to_contain_text("Réunion publique à Montreuil")
    expect(page.locator("#items")).to_contain_text("Pourquoi je m'engage")
    expect(page.locator("#history tbody tr").first).to_contain_text("Relevé")
    expect(page.locator("#source-health")).to_contain_text("En ordre")
    assert violations(page) == []

    page.get_by_role("link", name="Toutes les sources").click()
    expect(page.locator("#sources")).to_contain_text("Le blog de Jeanne Martin")
    expect(page.locator("#sources tbody tr td.num")).to_have_text("3")
