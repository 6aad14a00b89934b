"""Who may run the watch. HQ runs everything: sources, watchlists. HQ and coordinators see
the stream of stories (coordinators open missions for their teams from it). Coordinators and
the volunteers active in the veilleur role read the watchlists and their matches, try queries
in the test box and search the items; the traceurs' pages come with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_active_user, is_hq
from essaim.army.rules import coordinated_team_ids

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser

VEILLEUR = "veilleur"


def can_manage_sources(user: AnyUser) -> bool:
    """See, add, import, export, disable and enable sources, and read their items."""
    return is_hq(user)


def can_see_stream(user: AnyUser) -> bool:
    """See the stream of stories and a story's items: HQ, and coordinators (who open missions
    for their teams from it)."""
    return is_hq(user) or bool(coordinated_team_ids(user))


def can_review_merges(user: AnyUser) -> bool:
    """Accept or reject the merges the de-duplication suggests."""
    return is_hq(user)


def is_active_veilleur(user: AnyUser) -> bool:
    from essaim.army.models import RoleAssignment, Stage

    if not is_active_user(user):
        return False
    return RoleAssignment.objects.filter(
        volunteer_id=user.pk, role__slug=VEILLEUR, stage=Stage.ACTIVE
    ).exists()


def can_read_watchlists(user: AnyUser) -> bool:
    """See the watchlists and what they matched, try a query, search the items."""
    if is_hq(user):
        return True
    if not is_active_user(user):
        return False
    return bool(getattr(user, "is_coordinator", False)) or is_active_veilleur(user)


def can_manage_watchlists(user: AnyUser) -> bool:
    """Create, edit and delete watchlists."""
    return is_hq(user)


def can_triage(user: AnyUser) -> bool:
    """Take a story of the triage queue and decide on it: HQ and the active veilleurs."""
    return is_hq(user) or is_active_veilleur(user)


def can_see_triage(user: AnyUser) -> bool:
    """See the triage queue and the alerts: those who triage, and coordinators (read only)."""
    if is_hq(user):
        return True
    if not is_active_user(user):
        return False
    return bool(getattr(user, "is_coordinator", False)) or is_active_veilleur(user)


def can_manage_webhooks(user: AnyUser) -> bool:
    """Add and remove the webhooks the alerts are sent to."""
    return is_hq(user)
