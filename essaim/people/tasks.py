"""Background jobs of the base. Tasks take ids and call one service."""

from __future__ import annotations

from typing import Any

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


@task
def erase_selection(criteria: dict[str, Any], actor_id: int) -> int:
    """A bulk erasure too large for the request that asked for it (and audited it): the
    selection is computed again from its criteria, with what the asker may see."""
    from essaim.accounts.models import User
    from essaim.people.services.bulk import Selection, selection_queryset
    from essaim.people.services.gdpr import erase_contacts

    actor = User.objects.get(pk=actor_id)
    contacts = selection_queryset(Selection.from_criteria(criteria), user=actor)
    return erase_contacts(contacts, actor=actor, audited=True)
