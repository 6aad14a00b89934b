"""What the browser journeys share: logging in through the login page."""

from __future__ import annotations

from typing import Any


def login(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/comptes/connexion/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base_url}/")
