"""Background jobs of the army. Tasks take plain values or ids and call one service."""

from __future__ import annotations

from django.tasks import task


@task
def send_enlistment_confirmation(
    email: str, url: str, first_name: str = "", language: str = "fr"
) -> bool:
    """Mail a "Je m'engage" confirmation link (not to a suppressed address)."""
    from essaim.army.services.signup import send_confirmation_mail

    return send_confirmation_mail(email=email, url=url, first_name=first_name, language=language)


@task
def send_invitations(
    volunteer_id: int, emails: list[str], note: str = "", language: str = "fr"
) -> int:
    """Decide which of the addresses a volunteer submitted get an invitation, and mail those
    (out of the request, so that its answer and timing say nothing about the base)."""
    from essaim.army.services.invitations import send_invitations as send

    return send(volunteer_id=volunteer_id, emails=emails, note=note, language=language)
