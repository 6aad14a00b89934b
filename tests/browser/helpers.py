"""What the browser journeys share: logging in through the login page, and axe-core's verdict
on a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, headings), as the issue asks.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
FAILING = {"serious", "critical"}


def login(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/comptes/connexion/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base_url}/")


def violations(page: Any) -> list[str]:
    """axe's serious and critical violations on the page, one line each."""
    # evaluate() runs outside the page's Content-Security-Policy, which refuses injected scripts.
    page.evaluate(AXE.read_text())
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{page.url} {v['id']} ({v['impact']}): {node['target']} {node['failureSummary']}"
        for v in result["violations"]
        if v["impact"] in FAILING
        for node in v["nodes"]
    ]
