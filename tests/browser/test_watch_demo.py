"""Issue 17, in the browser, on the demo: HQ finds the watch alive (stories with their reprints,
a triage queue, an alert, a published synthesis) and the volunteer reports links as a tracer.
Lists of cards show no bullets, and axe-core finds no serious or critical violation."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.services import DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, demo, violations  # noqa: F401

pytestmark = pytest.mark.browser

BULLETS = "ul => [...ul.children].map(li => getComputedStyle(li).listStyleType)"


def test_hq_reads_the_demo_watch_triage_alert_and_synthesis(
    page: Any,
    live_server: Any,
    demo: dict[str, str],  # noqa: F811
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    login(page, live_server.url, DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    page.goto(f"{live_server.url}/veille/sujets/")
    page.get_by_role("link", name="Logement : Hélène Garnier promet 5 000").click()
    page.get_by_role("heading", name="Échos").wait_for()
    echoes = page.locator("table", has=page.locator("th", has_text="Nature")).locator("tbody tr")
    assert echoes.count() == 4
    assert echoes.filter(has_text="Reprise").count() == 3

    page.goto(f"{live_server.url}/veille/tri/")
    queue = page.locator("#triage-queue")
    assert queue.locator("li.card").count() == 4
    assert queue.evaluate(BULLETS) == ["none"] * 4
    assert violations(page) == []

    page.goto(f"{live_server.url}/veille/alertes/")
    alerts = page.locator("#alerts")
    assert alerts.inner_text().count("Sophie Lacombe attaque le plan logement") == 1
    assert alerts.evaluate(BULLETS) == ["none"]
    assert violations(page) == []

    page.goto(f"{live_server.url}/veille/syntheses/")
    page.locator("main li", has_text="Publiée").get_by_role("link").click()
    page.get_by_role("heading", name="Les sujets les plus repris").wait_for()
    assert "Journée dominée par le logement" in page.inner_text("main")
    assert violations(page) == []


def test_the_demo_volunteer_reports_links_and_reads_their_record(
    page: Any,
    live_server: Any,
    demo: dict[str, str],  # noqa: F811
) -> None:
    login(page, live_server.url, DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    page.get_by_role("link", name="Signaler").click()
    page.get_by_role("button", name="Envoyer").wait_for()
    text = page.inner_text("main")
    assert "Transports : Paul Renaud veut revenir sur la gratuité des bus le week-end" in text
    assert "35 minutes" in text
    assert violations(page) == []
