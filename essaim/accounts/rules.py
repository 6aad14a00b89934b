"""Permission predicates. Views and API handlers ask these; nothing else decides who may act."""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def can_manage_api_tokens(user: AnyUser) -> bool:
    """The token pages: HQ makes and revokes its own tokens; an HQ admin sees everyone's."""
    return is_hq(user)
