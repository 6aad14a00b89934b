"""Permission predicates of missions. Views and API handlers ask these; nothing else decides.

HQ runs national missions and may run every mission; a team's coordinators (its members with
`is_coordinator`, whatever their account role) create, publish and review their team's missions
without HQ; a volunteer (an account with a volunteer profile) claims the missions targeted at
them and proves their own claims only. Everyone else, anonymous included, may do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import _active, is_hq
from essaim.army.rules import coordinated_team_ids

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser
    from essaim.army.models import Claim, Mission, Volunteer


def volunteer_of(user: AnyUser) -> Volunteer | None:
    """The user's volunteer profile, or None (not logged in, inactive, or not a volunteer)."""
    from essaim.army.models import Volunteer

    if not _active(user):
        return None
    return Volunteer.objects.filter(pk=user.pk).first()


def can_create_mission(user: AnyUser, team_id: int | None) -> bool:
    """National missions are HQ's; a team's missions are its coordinators' (and HQ's)."""
    if is_hq(user):
        return True
    return team_id is not None and team_id in coordinated_team_ids(user)


def can_run_mission(user: AnyUser, mission: Mission) -> bool:
    """Publish, close, see the claims of and review a mission."""
    return can_create_mission(user, mission.team_id)


def can_review_claim(user: AnyUser, claim: Claim) -> bool:
    return can_run_mission(user, claim.mission)


def review_scope(user: AnyUser) -> set[int] | None:
    """The teams whose proofs this user reviews: None for all (HQ), else a set (maybe empty)."""
    if is_hq(user):
        return None
    return coordinated_team_ids(user)


def can_review(user: AnyUser) -> bool:
    scope = review_scope(user)
    return scope is None or bool(scope)


def owns_claim(user: AnyUser, claim: Claim) -> bool:
    return _active(user) and claim.volunteer_id == user.pk
