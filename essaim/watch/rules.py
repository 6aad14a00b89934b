"""Who may run the watch: HQ runs the sources; HQ and coordinators see the stream of stories.
The volunteers' roles of the watch (veilleur, traceur) come with their pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_active_user, is_hq
from essaim.army.rules import coordinated_team_ids

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser


def can_manage_sources(user: AnyUser) -> bool:
    """See, add, import, export, disable and enable sources, and read their items."""
    return is_hq(user)


def can_see_stream(user: AnyUser) -> bool:
    """See the stream of stories and a story's items: HQ, and coordinators (who open missions
    for their teams from it) — by account role, or as a team's coordinator."""
    if is_hq(user) or (is_active_user(user) and user.is_coordinator):  # type: ignore[union-attr]
        return True
    return bool(coordinated_team_ids(user))


def can_review_merges(user: AnyUser) -> bool:
    """Accept or reject the merges the de-duplication suggests."""
    return is_hq(user)
