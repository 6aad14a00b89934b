"""Background jobs of the API."""

from __future__ import annotations

from django.tasks import task


@task
def notify_budget_exhausted(token_id: int, day: str) -> int:
    """Mail the HQ admins that a token ran out of its daily budget of people read."""
    from essaim.api.services import mail_budget_exhausted

    return mail_budget_exhausted(token_id=token_id, day=day)
