"""Who may do what in the watch. Views and API handlers ask these; nothing else decides.

- HQ runs the sources, the watchlists and everything else; HQ and coordinators see the stream
  of stories (coordinators open missions for their teams from it).
- Coordinators and the volunteers active in the veilleur role read the watchlists and their
  matches, try queries in the test box and search the items.
- Tracers and veilleurs (volunteers whose role `traceur` or `veilleur` is active) submit links
  and see their own submissions and record.
- Submissions are reviewed by HQ, by veilleurs, and by the coordinators of a team the tracer is
  a member of; nobody reviews their own.
- A tracer's identity is shown to HQ and to the coordinators of the tracer's teams only: a
  veilleur reviews what was found, not who found it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from essaim.accounts.models import Membership
from essaim.accounts.rules import is_active_user, is_hq
from essaim.army.models import RoleAssignment, Stage
from essaim.army.rules import coordinated_team_ids

if TYPE_CHECKING:
    from essaim.accounts.rules import AnyUser
    from essaim.watch.models import Submission

TRACER_ROLES = ("traceur", "veilleur")

VEILLEUR = "veilleur"


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


def can_read_watchlists(user: AnyUser) -> bool:
    """See the watchlists and what they matched, try a query, search the items."""
    if is_hq(user):
        return True
    if not is_active_user(user):
        return False
    return bool(getattr(user, "is_coordinator", False)) or is_veilleur(user)


def can_manage_watchlists(user: AnyUser) -> bool:
    """Create, edit and delete watchlists."""
    return is_hq(user)


def active_watch_roles(user: AnyUser) -> set[str]:
    """The user's active roles of the watch (traceur, veilleur), in one query."""
    if not is_active_user(user):
        return set()
    return set(
        RoleAssignment.objects.filter(
            volunteer_id=user.pk, role__slug__in=TRACER_ROLES, stage=Stage.ACTIVE
        ).values_list("role__slug", flat=True)
    )


def watch_roles_of(volunteer: Any) -> list[tuple[Any, str, str]]:
    """The roles of the watch with this volunteer's stage in each and its words ("" when they do
    not hold it), for the page that explains them."""
    from essaim.army.models import VolunteerRole

    held = dict(
        RoleAssignment.objects.filter(volunteer=volunteer, role__slug__in=TRACER_ROLES).values_list(
            "role__slug", "stage"
        )
    )
    roles = VolunteerRole.objects.filter(slug__in=TRACER_ROLES).order_by("position", "id")
    labels = dict(Stage.choices)
    return [
        (role, held.get(role.slug, ""), str(labels.get(held.get(role.slug, ""), "")))
        for role in roles
    ]


def _has_active_role(user: AnyUser, slugs: tuple[str, ...]) -> bool:
    if not is_active_user(user):
        return False
    return RoleAssignment.objects.filter(
        volunteer_id=user.pk, role__slug__in=slugs, stage=Stage.ACTIVE
    ).exists()


def can_submit(user: AnyUser) -> bool:
    """Submit links and see one's own submissions and record: active tracers and veilleurs."""
    return _has_active_role(user, TRACER_ROLES)


def is_veilleur(user: AnyUser) -> bool:
    return _has_active_role(user, ("veilleur",))


def reviewable(user: AnyUser, submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    """The submissions this user may review (never their own): all for HQ and veilleurs, those
    of their teams' members for coordinators, none for anyone else."""
    if not is_active_user(user):
        return submissions.none()
    if is_hq(user) or is_veilleur(user):
        return submissions.exclude(volunteer_id=user.pk)
    teams = coordinated_team_ids(user)
    if not teams:
        return submissions.none()
    members = Membership.objects.filter(
        user_id=OuterRef("volunteer_id"), team__in=teams, state=Membership.State.MEMBER
    )
    return submissions.filter(Exists(members)).exclude(volunteer_id=user.pk)


def can_review_submissions(user: AnyUser) -> bool:
    """The review queue: HQ, veilleurs and team coordinators."""
    return is_hq(user) or bool(coordinated_team_ids(user)) or is_veilleur(user)


def can_review(user: AnyUser, submission: Submission) -> bool:
    from essaim.watch.models import Submission

    return reviewable(user, Submission.objects.filter(pk=submission.pk)).exists()


def identity_visible(user: AnyUser) -> Q | bool:
    """Whose identity this user sees beside submissions: True for HQ, a filter on submissions
    for coordinators (their teams' members), False for everyone else."""
    if is_hq(user):
        return True
    teams = coordinated_team_ids(user)
    if not teams:
        return False
    return Q(
        Exists(
            Membership.objects.filter(
                user_id=OuterRef("volunteer_id"), team__in=teams, state=Membership.State.MEMBER
            )
        )
    )


def sees_tracer(user: AnyUser, submission: Submission) -> bool:
    """May this user see who submitted it? HQ, and the coordinators of the tracer's teams (the
    tracer themselves, of course)."""
    if is_active_user(user) and submission.volunteer_id == user.pk:
        return True
    visible = identity_visible(user)
    if isinstance(visible, bool):
        return visible
    from essaim.watch.models import Submission

    return Submission.objects.filter(visible, pk=submission.pk).exists()


def can_see_submission(user: AnyUser, submission: Submission) -> bool:
    """Its page, its screenshot: the tracer and those who may review it."""
    if is_active_user(user) and submission.volunteer_id == user.pk:
        return True
    return can_review(user, submission)


SYNTHESIS_WRITER = "redacteur"


def is_synthesis_writer(user: AnyUser) -> bool:
    """HQ, or a volunteer active in the synthesis writer's role."""
    from essaim.army.models import RoleAssignment, Stage

    if is_hq(user):
        return True
    if not is_active_user(user):
        return False
    return RoleAssignment.objects.filter(
        volunteer_id=user.pk, role__slug=SYNTHESIS_WRITER, stage=Stage.ACTIVE
    ).exists()


def can_write_syntheses(user: AnyUser) -> bool:
    """See the drafts, edit and publish them."""
    return is_synthesis_writer(user)


def can_read_syntheses(user: AnyUser) -> bool:
    """Read the published syntheses and ask for them by email: those who see the stream, and
    the writers."""
    return can_see_stream(user) or is_synthesis_writer(user)


def can_triage(user: AnyUser) -> bool:
    """Take a story of the triage queue and decide on it: HQ and the active veilleurs."""
    return is_hq(user) or is_veilleur(user)


def can_see_triage(user: AnyUser) -> bool:
    """See the triage queue and the alerts: those who triage, and coordinators (read only)."""
    if is_hq(user):
        return True
    if not is_active_user(user):
        return False
    return bool(getattr(user, "is_coordinator", False)) or is_veilleur(user)


def can_manage_webhooks(user: AnyUser) -> bool:
    """Add and remove the webhooks the alerts are sent to."""
    return is_hq(user)
