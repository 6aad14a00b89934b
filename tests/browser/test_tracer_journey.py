"""Two tracers on phones (390 px wide) in Debian's Chromium: the first submits a video link with
a time code and is told it is new; the second submits the same video with other tracking
parameters and is told it is already in the watch, as echo n°2, without learning who else
reported it. The page is read from a real local server through the guarded fetcher; the pages
pass axe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Stage
from essaim.army.tests.factories import make_volunteer
from essaim.watch.models import Submission
from essaim.watch.tests.server import FeedServer
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser

VIDEO_PAGE = (
    "<!doctype html><html lang='fr'><head><title>Débat : le candidat face aux lecteurs</title>"
    '<meta property="og:description" content="Une heure de questions sur le logement.">'
    "</head><body><video src='/debat.mp4'></video></body></html>"
).encode()


@pytest.fixture
def channel(settings: Any) -> Iterator[FeedServer]:
    server = FeedServer().start()
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    settings.FETCH_ALLOWED_PORTS = [server.port]
    server.route("/videos/debat-42", VIDEO_PAGE)
    cache.clear()  # the submissions' rate limit lives in the cache
    try:
        yield server
    finally:
        server.stop()


def submit_link(page: Any, url: str, time_code: str = "") -> None:
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Signaler", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaler")
    page.get_by_label("Lien").fill(url)
    if time_code:
        page.get_by_label("Minutage").fill(time_code)
    page.get_by_label("Urgent").check()
    page.get_by_role("button", name="Envoyer").click()


def test_two_tracers_report_the_same_video_the_second_is_told_it_is_echo_two(
    phone_page: Any, browser: Any, live_server: Any, channel: FeedServer
) -> None:
    make_volunteer(
        "alice@exemple.fr", roles={"traceur": Stage.ACTIVE}, first_name="Alice", password=PASSWORD
    )
    make_volunteer(
        "bruno@exemple.fr", roles={"veilleur": Stage.ACTIVE}, first_name="Bruno", password=PASSWORD
    )

    login(phone_page, live_server.url, "alice@exemple.fr", PASSWORD)
    submit_link(
        phone_page, channel.url("/videos/debat-42?utm_source=twitter&utm_medium=social"), "12:34"
    )
    expect(phone_page.locator(".messages")).to_have_text(
        "Nouveau : la veille n'avait pas encore ce lien. Merci !"
    )
    mine = phone_page.locator("#my-submissions li")
    expect(mine).to_have_count(1)
    expect(mine.first).to_contain_text("Débat : le candidat face aux lecteurs")
    expect(mine.first).to_contain_text("à 12:34")
    expect(mine.first).to_contain_text("Page lue")
    assert violations(phone_page) == []

    # The second tracer, on a phone of their own.
    context = browser.new_context(
        locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    second = context.new_page()
    try:
        login(second, live_server.url, "bruno@exemple.fr", PASSWORD)
        submit_link(second, channel.url("/videos/debat-42?fbclid=IwAR0xyz"))
        expect(second.locator(".messages")).to_have_text(
            "Déjà dans la veille : « Débat : le candidat face aux lecteurs », vous êtes l'écho n°2."
        )
        body = second.locator("main").inner_text()
        assert "Alice" not in body and "alice@exemple.fr" not in body
        expect(second.locator("#my-submissions li").first).to_contain_text("écho n°2")
        assert violations(second) == []
    finally:
        context.close()

    # The page was read once, without its tracking parameters, for the first report; both
    # reports point to one item.
    assert [seen.path for seen in channel.requests] == ["/videos/debat-42"]
    rows = list(Submission.objects.order_by("id").values_list("time_code", "echo", "item_id"))
    assert [(t, e) for t, e, _ in rows] == [(754, 1), (None, 2)]
    assert rows[0][2] == rows[1][2]
