"""The audit log and a sorted list, in the browser, on the demo: sentences instead of codes,
the filters, a sort header clicked (aria-sort follows), and axe-core finds no serious or
critical violation on either, folded details opened included."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.services import DEMO_HQ_ADMIN
from essaim.lib.text import french_sort_key
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, demo, violations  # noqa: F401

pytestmark = pytest.mark.browser


def test_hq_reads_the_audit_log_filters_it_and_sorts_a_list(
    page: Any,
    live_server: Any,
    demo: dict[str, str],  # noqa: F811
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    login(page, live_server.url, DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    page.get_by_role("link", name="Journal d'audit").click()
    page.get_by_role("heading", name="Journal d'audit").wait_for()
    table = page.locator("table.audit-log")
    text = table.inner_text()
    # The demo's moves and launches, as sentences; no code, no key=value.
    assert " a " in text and "=" not in text
    assert "army.role_moved" not in text.split("Code de l'action")[0]
    table.locator("details summary").first.click()
    assert table.locator("details[open] dt", has_text="Code de l'action").count() == 1
    assert violations(page) == []

    page.get_by_label("Actions").select_option(label="Armée de volontaires")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**famille=army**")
    families = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert families and set(families) == {"Armée de volontaires"}
    header = page.locator("th", has_text="Quand")
    assert header.get_attribute("aria-sort") == "descending"
    header.get_by_role("link").click()
    page.wait_for_url("**tri=quand**")
    assert page.locator("th", has_text="Quand").get_attribute("aria-sort") == "ascending"
    assert "famille=army" in page.url
    assert violations(page) == []

    page.goto(f"{live_server.url}/campagnes/")
    page.locator("th", has_text="Nom").get_by_role("link").click()
    page.wait_for_url("**tri=nom**")
    assert page.locator("th", has_text="Nom").get_attribute("aria-sort") == "ascending"
    names = page.locator("tbody tr td:first-child").all_inner_texts()
    assert len(names) > 1 and names == sorted(names, key=french_sort_key)
    assert violations(page) == []
