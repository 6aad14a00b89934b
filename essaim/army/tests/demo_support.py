"""Running the demo as `make run` does, and logging in with what it prints (the demo's tests)."""

from __future__ import annotations

import re
from io import StringIO

from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse


def make_run(contacts: int) -> dict[str, str]:
    """What `make run` does before starting the processes; returns the printed passwords."""
    call_command("demo", contacts=contacts, stdout=StringIO())
    out = StringIO()
    call_command("bootstrap_users", stdout=out)
    return dict(re.findall(r"(\S+@essaim\.localhost)\s+(\S+)", out.getvalue()))


def demo_twice(settings: object, contacts: int) -> dict[str, str]:
    """The demo run twice (the second run must add nothing), with its settings."""
    settings.DEMO = True  # type: ignore[attr-defined]
    settings.STAFF_2FA_REQUIRED = False  # type: ignore[attr-defined]  # as in the demo
    make_run(contacts)
    return make_run(contacts)


def logged_in(email: str, password: str) -> Client:
    cache.clear()  # the login rate limits
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 302, f"{email} could not log in"
    return client
