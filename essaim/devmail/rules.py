"""Who reads the demo's mail catcher, and when it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from essaim.accounts.rules import is_hq

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser


def devmail_enabled() -> bool:
    """The demo's mail catcher runs: DEVMAIL_ENABLED, and only in the demo (DEMO). It shows HQ
    every mail Essaim sends, other people's login links among them, so a DEVMAIL_ENABLED left
    on in production without DEMO keeps it off (and `essaim check --deploy` fails)."""
    return bool(settings.DEVMAIL_ENABLED and settings.DEMO)


def can_read_devmail(user: AnyUser) -> bool:
    return devmail_enabled() and is_hq(user)
