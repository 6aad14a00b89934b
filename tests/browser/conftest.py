"""Browser journeys: Debian's Chromium driven by Playwright against Django's live server.

Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run inside
one unless told it is safe, which it is here (one thread, the test's own).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# The sender's fixtures, for the campaign journey that runs a real sender process.
from essaim.mailing.tests.fixtures import live_ledger, migrated_sqlite_template  # noqa: F401

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A desktop-sized page; `page.goto(live_server.url + path)`."""
    yield from _page(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A phone-sized page, for the volunteers' journeys."""
    yield from _page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )


def _page(browser: Any, **options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Our Content-Security-Policy forbids inline scripts and styles: a page that breaks it
    # breaks in every real browser too, so a violation fails the journey.
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield page
    context.close()
    assert violations == []
