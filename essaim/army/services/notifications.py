"""The army's notifications (essaim.accounts.services.notifications): the kinds it produces, how
each reads and where it leads, and who is told of what.

- A volunteer is told of a mission offered to them (dispatch, one INSERT … SELECT), of their
  proof accepted or returned, of a mission closed under their claim: about the mission, which
  their page opens (and opening it reads them).
- A team's coordinators are told of a request to join it and of a proof to review on its
  missions; HQ of a proof to review on a national mission and of a mission waiting for its
  approval. Those are settled (read for everyone) once someone has dealt with them.

Nobody is told of their own act: the actor is left out of every list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Membership, Role, User
from essaim.accounts.services import notifications
from essaim.accounts.services.notifications import Target
from essaim.army.models import Claim, Mission

MISSION_OFFERED = "mission_offered"
PROOF_ACCEPTED = "proof_accepted"
PROOF_RETURNED = "proof_returned"
MISSION_CLOSED = "mission_closed"
PROOF_TO_REVIEW = "proof_to_review"
JOIN_REQUEST = "join_request"
MISSION_APPROVAL = "mission_approval"

# About a mission, told to its volunteers: "Mes missions" counts them, the mission's page reads
# them.
VOLUNTEER_KINDS = (MISSION_OFFERED, PROOF_ACCEPTED, PROOF_RETURNED, MISSION_CLOSED)
# Work for those who run missions: the "Missions" entry counts them.
RUNNER_KINDS = (PROOF_TO_REVIEW, MISSION_APPROVAL)
TEAM_KINDS = (JOIN_REQUEST,)


# --- How they read and where they lead ------------------------------------------------------------


def _missions(ids: Collection[int], view: str, with_pk: bool = True) -> Mapping[int, Target]:
    rows = Mission.objects.filter(pk__in=list(ids)).values_list("pk", "title")
    return {
        pk: Target(title, reverse(view, args=[pk]) if with_pk else reverse(view))
        for pk, title in rows
    }


def _offered(ids: Collection[int]) -> Mapping[int, Target]:
    return _missions(ids, "army:mission_detail")


def _to_approve(ids: Collection[int]) -> Mapping[int, Target]:
    return _missions(ids, "army:mission_approvals", with_pk=False)


def _to_review(ids: Collection[int]) -> Mapping[int, Target]:
    queue = reverse("army:review_queue") + "#queue"
    rows = Claim.objects.filter(pk__in=list(ids)).values_list("pk", "mission__title")
    return {pk: Target(title, queue) for pk, title in rows}


def _join_requests(ids: Collection[int]) -> Mapping[int, Target]:
    # The team's name, not the person's: a digest mails it, and the team's page names them.
    rows = Membership.objects.filter(pk__in=list(ids)).values_list("pk", "team_id", "team__name")
    return {
        pk: Target(name, reverse("army:team_dashboard", args=[team_id]))
        for pk, team_id, name in rows
    }


def register_kinds() -> None:
    """From ArmyConfig.ready."""
    register = notifications.register_kind
    register(MISSION_OFFERED, sentence=_("Nouvelle mission : %(subject)s"), resolve=_offered)
    register(PROOF_ACCEPTED, sentence=_("Preuve acceptée : %(subject)s"), resolve=_offered)
    register(PROOF_RETURNED, sentence=_("Preuve à reprendre : %(subject)s"), resolve=_offered)
    register(MISSION_CLOSED, sentence=_("Mission close : %(subject)s"), resolve=_offered)
    register(PROOF_TO_REVIEW, sentence=_("Preuve à relire : %(subject)s"), resolve=_to_review)
    register(
        JOIN_REQUEST,
        sentence=_("Demande pour rejoindre l'équipe %(subject)s"),
        resolve=_join_requests,
    )
    register(MISSION_APPROVAL, sentence=_("Mission à approuver : %(subject)s"), resolve=_to_approve)


# --- Who is told ----------------------------------------------------------------------------------


def team_coordinators(team_id: int) -> list[int]:
    """The users who coordinate the team (members with `is_coordinator`), active ones only."""
    return list(
        Membership.objects.filter(
            team_id=team_id,
            state=Membership.State.MEMBER,
            is_coordinator=True,
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )


def hq_users() -> list[int]:
    """Active HQ accounts (admins and staff): they run national missions and approve."""
    return list(
        User.objects.filter(is_active=True, role__in=[Role.HQ_ADMIN, Role.HQ_STAFF]).values_list(
            "pk", flat=True
        )
    )


def reviewers_of(team_id: int | None) -> list[int]:
    """Who reviews a mission's proofs: its team's coordinators, HQ for a national mission."""
    return hq_users() if team_id is None else team_coordinators(team_id)


def join_requested(*, membership: Membership) -> int:
    """The team's coordinators are told (not the person asking, should they coordinate it)."""
    return notifications.notify(
        kind=JOIN_REQUEST,
        object_id=membership.pk,
        recipients=team_coordinators(membership.team_id),
        actor_id=membership.user_id,
    )


def join_decided(*, membership_id: int) -> None:
    notifications.settle(kinds=TEAM_KINDS, object_id=membership_id)


def proof_submitted(*, claim_id: int, team_id: int | None, volunteer_id: int) -> int:
    """The mission's reviewers are told, not its volunteer (who may not review it anyway)."""
    return notifications.notify(
        kind=PROOF_TO_REVIEW,
        object_id=claim_id,
        recipients=reviewers_of(team_id),
        actor_id=volunteer_id,
    )


def proof_reviewed(
    *, claim_id: int, mission_id: int, volunteer_id: int, reviewer_id: int, accepted: bool
) -> None:
    """The reviewers' notification is settled, for all of them; the volunteer is told."""
    notifications.settle(kinds=(PROOF_TO_REVIEW,), object_id=claim_id)
    notifications.notify(
        kind=PROOF_ACCEPTED if accepted else PROOF_RETURNED,
        object_id=mission_id,
        recipients=[volunteer_id],
        actor_id=reviewer_id,
    )


def approval_requested(*, mission_id: int, author_id: int | None, actor_id: int | None) -> int:
    """HQ is told, but neither who published it nor its author: they may not decide it."""
    return notifications.notify(
        kind=MISSION_APPROVAL,
        object_id=mission_id,
        recipients=[pk for pk in hq_users() if pk != author_id],
        actor_id=actor_id,
    )


def approval_decided(*, mission_id: int) -> None:
    notifications.settle(kinds=(MISSION_APPROVAL,), object_id=mission_id)
