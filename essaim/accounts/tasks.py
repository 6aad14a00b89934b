"""Background jobs of accounts."""

from __future__ import annotations

from django.tasks import task


@task
def send_magic_link(email: str, language: str = "fr") -> bool:
    """Mail a login link to a volunteer account (nothing for any other address)."""
    from essaim.accounts.services import send_magic_link as send

    return send(email=email, language=language)
