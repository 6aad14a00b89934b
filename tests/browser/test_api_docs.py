"""The API documentation page renders in a real browser under the site's strict CSP."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_render_every_operation_from_local_assets(page: Any, live_server: Any) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda req: outside.append(req.url) if not req.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = sorted(
        {
            el.inner_text().replace("\u200b", "")
            for el in page.query_selector_all(".opblock-summary-path")
        }
    )
    assert "/api/v1/contacts" in paths
    assert "/api/v1/contacts/{id}" in paths
    assert page.locator("button.authorize").count() == 1
    assert outside == []


def test_a_token_pasted_in_the_docs_page_calls_the_api(page: Any, live_server: Any, hq: Any):
    from essaim.api.services import create_token

    _, token = create_token(user=hq, name="docs page", scopes=["read", "contacts:read"])
    page.goto(f"{live_server.url}/api/docs")
    page.locator("button.authorize").click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done, .modal-ux .close-modal").first.click()
    operation = page.locator("#operations-base-list_contacts")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
