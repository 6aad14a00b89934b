"""The roles' lifecycle: moves by coordinators and HQ, and the periodic lapse of idle roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from essaim.accounts.models import User
from essaim.accounts.services import audit
from essaim.army.models import RoleAssignment, RoleTransition, Stage

LAPSE_BATCH = 2000


def move_role(
    *, assignment: RoleAssignment, stage: str, actor: User, reason: str = ""
) -> RoleTransition:
    """Move one role (the caller checked rules.can_move_roles_of) and audit it. Raises ValueError
    for a move the lifecycle does not allow, StaleStage if someone moved it meanwhile."""
    with transaction.atomic():
        transition = assignment.move_to(stage, by=actor, reason=reason[:200])
        audit(
            action="army.role_moved",
            actor=actor,
            obj=assignment,
            volunteer=assignment.volunteer_id,
            role=assignment.role_id,
            from_stage=transition.from_stage,
            to_stage=stage,
        )
    return transition


def idle_active_roles(now: datetime | None = None) -> Q:
    """Active roles with no accepted work for ROLE_LAPSE_WEEKS weeks: neither since they became
    active nor since their last accepted work."""
    cutoff = (now or timezone.now()) - timedelta(weeks=settings.ROLE_LAPSE_WEEKS)
    return Q(stage=Stage.ACTIVE, stage_changed_at__lt=cutoff) & (
        Q(last_accepted_work_at__isnull=True) | Q(last_accepted_work_at__lt=cutoff)
    )


def lapse_idle_roles(*, now: datetime | None = None, batch: int = LAPSE_BATCH) -> int:
    """Lapse every idle active role, by batches: per batch one locking read of the ids, one
    UPDATE and one INSERT of the transitions (by None: the system). Returns how many lapsed.

    The rows are locked (FOR UPDATE on PostgreSQL; SQLite's immediate transactions serialize
    writers) and re-checked by the UPDATE's own WHERE, so a role a coordinator moved or that got
    accepted work meanwhile is left alone.
    """
    now = now or timezone.now()
    idle = idle_active_roles(now)
    total = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            ids = list(
                RoleAssignment.objects.select_for_update()
                .filter(idle, pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return total
            last_pk = ids[-1]
            RoleAssignment.objects.filter(idle, pk__in=ids).update(
                stage=Stage.LAPSED, stage_changed_at=now, stage_changed_by=None
            )
            RoleTransition.objects.bulk_create(
                [
                    RoleTransition(
                        assignment_id=pk,
                        from_stage=Stage.ACTIVE,
                        to_stage=Stage.LAPSED,
                        at=now,
                        reason=f"no accepted work for {settings.ROLE_LAPSE_WEEKS} weeks",
                    )
                    for pk in ids
                ]
            )
            total += len(ids)
