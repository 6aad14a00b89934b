"""The suppression list, shared by every channel: an address on it is never mailed, imported
or invited again."""

from __future__ import annotations

from django.db import transaction

from essaim.people.models import Suppression, email_hash


def is_suppressed(email_key: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email_key)).exists()


def suppress(*, email_key: str, reason: str, note: str = "") -> bool:
    """Add the address (by its case-folded key) to the list; True if it was not there yet.
    The first reason stays: an erasure after an unsubscribe is still recorded by the erasure
    service itself."""
    with transaction.atomic():
        _, created = Suppression.objects.get_or_create(
            email_hash=email_hash(email_key), defaults={"reason": reason, "note": note[:200]}
        )
    return created
