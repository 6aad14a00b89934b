"""Who may run mass-mailing campaigns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_hq

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser


def can_manage_campaigns(user: AnyUser) -> bool:
    """Write, preview, test, launch, approve, pause and cancel mass-mailing campaigns."""
    return is_hq(user)
