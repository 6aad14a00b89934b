"""Teams: join requests and their decisions, leaving, coordinators."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from essaim.accounts.models import Membership, Team, User
from essaim.accounts.services import audit
from essaim.army.services import notifications as notices


class NotPending(Exception):
    """The request was decided (or withdrawn) meanwhile."""


def request_to_join(*, user: User, team: Team, message: str = "") -> Membership:
    """Ask to join `team` (the caller checked rules.can_request_to_join). Asking again after a
    refusal or a departure reopens the request; a member or a pending request stays as it is."""
    now = timezone.now()
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            team=team,
            user=user,
            defaults={"state": Membership.State.REQUESTED, "message": message, "requested_at": now},
        )
        asked = created
        if not created and membership.state in {Membership.State.DECLINED, Membership.State.LEFT}:
            asked = True
            membership.state = Membership.State.REQUESTED
            membership.message = message
            membership.requested_at = now
            membership.decided_at = membership.decided_by = None
            membership.is_coordinator = False
            membership.save(
                update_fields=[
                    "state",
                    "message",
                    "requested_at",
                    "decided_at",
                    "decided_by",
                    "is_coordinator",
                ]
            )
        if asked:
            notices.join_requested(membership=membership)
    return membership


def decide_request(*, membership: Membership, approve: bool, actor: User) -> Membership:
    """Approve or decline a pending request (the caller checked rules.can_run_team). The update
    is conditional on the request still pending: two coordinators deciding at once make one
    decision, and the other gets NotPending."""
    state = Membership.State.MEMBER if approve else Membership.State.DECLINED
    now = timezone.now()
    with transaction.atomic():
        decided = Membership.objects.filter(
            pk=membership.pk, state=Membership.State.REQUESTED
        ).update(state=state, decided_at=now, decided_by=actor)
        if not decided:
            raise NotPending
        notices.join_decided(membership_id=membership.pk)
        audit(
            action="army.join_approved" if approve else "army.join_declined",
            actor=actor,
            obj=membership.team,
            member=membership.user_id,
        )
    membership.state, membership.decided_at, membership.decided_by = state, now, actor
    return membership


def leave_team(*, user: User, team: Team) -> bool:
    """The user leaves (or withdraws their request, which then waits for nobody). True if
    anything changed."""
    with transaction.atomic():
        rows = Membership.objects.filter(
            team=team, user=user, state__in=[Membership.State.MEMBER, Membership.State.REQUESTED]
        )
        ids = list(rows.values_list("pk", flat=True))
        left = rows.update(
            state=Membership.State.LEFT, is_coordinator=False, decided_at=timezone.now()
        )
        for membership_id in ids:
            notices.join_decided(membership_id=membership_id)
    return bool(left)


def set_coordinator(*, membership: Membership, is_coordinator: bool, actor: User) -> None:
    """Appoint a member coordinator of their team, or remove them (HQ's decision)."""
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk, state=Membership.State.MEMBER).update(
            is_coordinator=is_coordinator
        )
        audit(
            action="army.coordinator_set" if is_coordinator else "army.coordinator_unset",
            actor=actor,
            obj=membership.team,
            member=membership.user_id,
        )
