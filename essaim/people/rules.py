"""Who may read and manage the base. Views and API handlers ask these; nothing else decides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_active_user, is_hq

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser


def can_view_contacts(user: AnyUser) -> bool:
    """HQ sees the whole base; a coordinator sees the contacts of their zones (masked)."""
    return is_hq(user) or (is_active_user(user) and user.is_coordinator)  # type: ignore[union-attr]


def sees_contacts_unmasked(user: AnyUser) -> bool:
    return is_hq(user)


def can_reveal_contact(user: AnyUser, departement: str) -> bool:
    if is_hq(user):
        return True
    return (
        is_active_user(user)
        and user.is_coordinator  # type: ignore[union-attr]
        and departement in (user.zones or [])  # type: ignore[union-attr]
    )


def can_manage_base(user: AnyUser) -> bool:
    """Imports, segments, tags, GDPR requests."""
    return is_hq(user)


def can_export(user: AnyUser) -> bool:
    return is_hq(user)
