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
