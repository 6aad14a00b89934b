"""Who may run the watch. For now HQ only; the volunteers' roles of the watch (veilleur,
traceur) and the coordinators' view of the stream come with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_hq

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser


def can_manage_sources(user: AnyUser) -> bool:
    """See, add, import, export, disable and enable sources, and read their items."""
    return is_hq(user)
