"""Background jobs of the base. Tasks take ids and call one service."""

from __future__ import annotations

from django.tasks import task


@task
def run_import(batch_id: int) -> None:
    """Run a queued CSV import (the UI's "Lancer l'import")."""
    from essaim.people.services.imports import run_batch

    run_batch(batch_id=batch_id)


@task
def send_signup_confirmation(
    email: str, url: str, first_name: str = "", language: str = "fr"
) -> bool:
    """Mail a sign-up confirmation link (not to a suppressed address). Plain values: the request
    is not stored anywhere until the person confirms."""
    from essaim.people.services.signup import SIGNUP

    return SIGNUP.send_mail(email=email, url=url, first_name=first_name, language=language)
