from __future__ import annotations

from typing import Any

from essaim.people.models import Contact, ImportBatch


def base_summary(*, user: Any) -> dict[str, Any]:
    """Figures for the home page, within what the user may see."""
    contacts = Contact.objects.visible_to(user)
    return {
        "contacts": contacts.count(),
        "recent_imports": list(ImportBatch.objects.all()[:5]) if user.is_hq else [],
    }
