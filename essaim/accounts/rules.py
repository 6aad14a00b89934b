"""Permission predicates. Views and API handlers ask these; nothing else decides who may act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from essaim.accounts.models import User

    AnyUser = User | AnonymousUser


def is_active_user(user: AnyUser) -> bool:
    """Signed in with an account that is not disabled: the first test of every rule."""
    return bool(user.is_authenticated and user.is_active)


def is_hq(user: AnyUser) -> bool:
    return is_active_user(user) and user.is_hq  # type: ignore[union-attr]


def is_hq_admin(user: AnyUser) -> bool:
    return is_active_user(user) and user.role == "hq_admin"  # type: ignore[union-attr]


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


def devmail_enabled() -> bool:
    """The demo's mail catcher runs: DEVMAIL_ENABLED, and only in the demo (DEMO). It shows HQ
    every mail Essaim sends, other people's login links among them, so a DEVMAIL_ENABLED left
    on in production without DEMO keeps it off (and `essaim check --deploy` fails)."""
    return bool(settings.DEVMAIL_ENABLED and settings.DEMO)


def can_read_devmail(user: AnyUser) -> bool:
    return devmail_enabled() and is_hq(user)


def can_manage_api_tokens(user: AnyUser) -> bool:
    """The token pages: HQ makes and revokes its own tokens; an HQ admin sees everyone's."""
    return is_hq(user)


def can_manage_campaigns(user: AnyUser) -> bool:
    """Write, preview, test, launch, approve, pause and cancel mass-mailing campaigns."""
    return is_hq(user)
