"""Permission predicates of the army. Views and API handlers ask these; nothing else decides.

Who is who: HQ (accounts.rules.is_hq) runs everything; a team's coordinators are its members with
`is_coordinator` (whatever their account role), and run their team — its members' roles, its
join requests — without asking HQ; a volunteer runs their own profile and requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from essaim.accounts.models import Membership, Team
from essaim.accounts.rules import is_active_user, is_hq

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser
    from essaim.army.models import Volunteer


def coordinated_team_ids(user: AnyUser) -> set[int]:
    if not is_active_user(user):
        return set()
    return set(
        Membership.objects.filter(
            user=user.pk, state=Membership.State.MEMBER, is_coordinator=True
        ).values_list("team_id", flat=True)
    )


def is_team_coordinator(user: AnyUser, team: Team) -> bool:
    return team.pk in coordinated_team_ids(user)


def can_run_team(user: AnyUser, team: Team) -> bool:
    """See the team's dashboard (members, their roles and availability), decide join requests."""
    return is_hq(user) or is_team_coordinator(user, team)


def can_manage_teams(user: AnyUser) -> bool:
    """Create teams, appoint and remove coordinators."""
    return is_hq(user)


def can_move_roles_of(user: AnyUser, volunteer: Volunteer) -> bool:
    """Move a volunteer's roles through the lifecycle: HQ, or a coordinator of a team the
    volunteer is a member of."""
    if is_hq(user):
        return True
    teams = coordinated_team_ids(user)
    return (
        bool(teams)
        and Membership.objects.filter(
            user=volunteer.pk, team__in=teams, state=Membership.State.MEMBER
        ).exists()
    )


def can_request_to_join(user: AnyUser, team: Team) -> bool:
    """A volunteer (an account with a volunteer profile) asks to join a team that accepts it."""
    from essaim.army.models import Volunteer

    return (
        is_active_user(user)
        and team.accepts_requests
        and Volunteer.objects.filter(pk=user.pk).exists()
    )


def can_manage_calls(user: AnyUser) -> bool:
    """Create calls for volunteers (each sends a campaign to a segment of the base) and read
    their funnels: HQ only, as campaigns and segments are."""
    return is_hq(user)


# --- Invitations --------------------------------------------------------------------------------


def can_invite(user: AnyUser) -> bool:
    """Invite people from one's address book, in their own name only: a volunteer with the
    mondain role, trained or active, whose invitations are not suspended (the reason, for the
    page and the API, is essaim.army.services.inviters.standing)."""
    from essaim.army.models import Volunteer
    from essaim.army.services.inviters import standing

    if not is_active_user(user):
        return False
    volunteer = Volunteer.objects.filter(pk=user.pk).first()
    return volunteer is not None and standing(volunteer).refusal is None


def can_lift_invitation_suspension(user: AnyUser, volunteer: Volunteer) -> bool:
    """Let a suspended inviter invite again: those who see their reports (HQ, and the
    coordinators of a team they are a member of)."""
    return can_see_invitation_reports_of(user, volunteer)


def can_see_invitation_reports_of(user: AnyUser, volunteer: Volunteer) -> bool:
    """How many of a volunteer's invitations were reported as abuse: HQ, and the coordinators
    of a team the volunteer is a member of (those who can act on it). Never the volunteer."""
    return can_move_roles_of(user, volunteer)


def can_list_invitation_reports(user: AnyUser) -> bool:
    """The list of every volunteer whose invitations were reported."""
    return is_hq(user)
