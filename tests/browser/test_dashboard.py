"""The home dashboards in a browser: each demo login lands on its panels, every chart is drawn
by Chart.js on its canvas (not left blank), the page fits a phone's width, and axe-core finds no
serious or critical violation — at 1280 and at 390 pixels."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from essaim.accounts.services import DEMO_COORDINATOR, DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from essaim.army.tests.demo_support import make_run
from essaim.army.tests.factories import seed_roles
from tests.browser.helpers import AXE, login, violations

pytestmark = pytest.mark.browser

CHARTS = {
    DEMO_HQ_ADMIN: [
        "chart-base-growth",
        "chart-base-consents",
        "chart-base-exits",
        "chart-campaign-results",
        "chart-army-roles",
        "chart-army-zones",
        "chart-call-funnel",
    ],
    DEMO_COORDINATOR: ["chart-team-missions", "chart-base-growth", "chart-army-roles"],
    DEMO_VOLUNTEER: ["chart-volunteer-points"],
}

# The canvas' pixels that are not transparent: axes, labels, bars or lines.
PAINTED = """id => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
  return {painted, width: canvas.width, height: canvas.height, drawn: canvas.dataset.drawn};
}"""


@pytest.fixture
def demo(settings: Any) -> dict[str, str]:
    """The demo `make run` fills, and its printed logins."""
    settings.DEMO = True
    settings.STAFF_2FA_REQUIRED = False
    seed_roles()  # a live server's database is flushed of the migrations' rows
    logins = make_run(20)
    cache.clear()
    return logins


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
@pytest.mark.parametrize("email", [DEMO_HQ_ADMIN, DEMO_COORDINATOR, DEMO_VOLUNTEER])
def test_each_login_lands_on_a_dashboard_whose_charts_are_drawn(
    request: pytest.FixtureRequest,
    live_server: Any,
    demo: dict[str, str],
    viewport: str,
    email: str,
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    page = request.getfixturevalue(viewport)
    login(page, live_server.url, email, demo[email])  # lands on the home page
    page.wait_for_function(
        "n => document.querySelectorAll('canvas[data-drawn]').length >= n",
        arg=len(CHARTS[email]),
    )
    for chart in CHARTS[email]:
        state = page.evaluate(PAINTED, chart)
        assert state["drawn"] == "true", chart
        assert state["width"] > 100 and state["height"] > 100, (chart, state)
        # Axes and labels alone paint a few thousand pixels; bars or lines many more.
        assert state["painted"] > 2000, (chart, state)
        # The same numbers are on the page for whoever does not see the canvas.
        assert page.locator(f"#{chart}").get_attribute("role") == "img"
    # Nothing wider than the screen: the page does not scroll sideways on a phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
    assert violations(page) == []


def test_a_volunteers_dashboard_shows_no_figure_of_the_base(
    page: Any, live_server: Any, demo: dict[str, str]
) -> None:
    login(page, live_server.url, DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    assert page.locator("#panel-my-missions").is_visible()
    assert page.locator("#panel-base, #panel-army, #panel-campaigns, #panel-calls").count() == 0
    assert page.get_by_role("link", name="Voir les contacts").count() == 0
