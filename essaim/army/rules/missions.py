"""Permission predicates of missions. Views and API handlers ask these; nothing else decides.

HQ runs national missions and may run every mission; a team's coordinators (its members with
`is_coordinator`, whatever their account role) create, publish and review their team's missions
without HQ; a volunteer (an account with a volunteer profile) claims the missions targeted at
them and proves their own claims only. Everyone else, anonymous included, may do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.rules import is_active_user, is_hq
from essaim.army.rules import coordinated_team_ids

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser
    from essaim.army.models import Claim, KitFile, Mission, TalkingPoint, Volunteer


def volunteer_of(user: AnyUser) -> Volunteer | None:
    """The user's volunteer profile, or None (not logged in, inactive, or not a volunteer)."""
    from essaim.army.models import Volunteer

    if not is_active_user(user):
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
    return is_active_user(user) and claim.volunteer_id == user.pk


def can_decide_missions(user: AnyUser) -> bool:
    """Approve or refuse missions above MISSION_MAX_POINTS (never one's own: the service
    refuses it), see the sudden jumps in points and the accepted work behind them: HQ."""
    return is_hq(user)


# --- Talking points library and kits ------------------------------------------------------------


def library_scope(user: AnyUser) -> set[int] | None:
    """Whose entries of the library this user sees besides the national ones: None for all
    (HQ), else the teams they coordinate (maybe none: then they see no library at all)."""
    return review_scope(user)


def can_see_library(user: AnyUser) -> bool:
    return can_review(user)


def can_write_talking_point(user: AnyUser, team_id: int | None) -> bool:
    """National entries are HQ's; a team's entries are its coordinators' (and HQ's)."""
    return can_create_mission(user, team_id)


def can_edit_talking_point(user: AnyUser, point: TalkingPoint) -> bool:
    """Publish a new version of, or retire, an entry."""
    return can_write_talking_point(user, point.team_id)


def can_download_kit_file(user: AnyUser, item: KitFile) -> bool:
    """The mission's runners, and the volunteers it is offered to or who took it."""
    from essaim.army.models import Claim
    from essaim.army.services.missions import is_eligible

    mission = item.mission
    if can_run_mission(user, mission):
        return True
    volunteer = volunteer_of(user)
    if volunteer is None:
        return False
    if Claim.objects.filter(mission_id=mission.pk, volunteer=volunteer).exists():
        return True
    return is_eligible(volunteer, mission.pk)


def team_choices(user: AnyUser) -> list[tuple[str, str]]:
    """The teams a mission or a talking point of `user` may belong to, as form choices: every
    team and "national" (empty) for HQ, the teams they coordinate for a coordinator."""
    from django.utils.translation import gettext as _

    from essaim.accounts.models import Team

    choices: list[tuple[str, str]] = []
    if is_hq(user):
        choices.append(("", _("Nationale (QG)")))
        teams = Team.objects.order_by("name")
    else:
        teams = Team.objects.filter(pk__in=coordinated_team_ids(user)).order_by("name")
    return choices + [(str(t.pk), str(t)) for t in teams]
