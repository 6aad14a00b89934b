"""Dispatch: telling eligible volunteers about a published mission, fairly.

Fairness here means two things, both decided in SQL: a volunteer whose week is already full
(the estimated minutes of the claims taken in the last seven days plus this mission's would pass
the weekly hours they declared) is not asked, and neither is one who holds the maximum of open
claims. When a limit is given, the least loaded are asked first. The notifications are written
by one INSERT … SELECT, whatever the number of volunteers; the unique constraint makes a second
dispatch of the same mission a no-op. The email digest of notifications is everyone's:
essaim.accounts.services.notifications.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from essaim.accounts.services import notifications
from essaim.army.models import Claim, Mission, RoleAssignment, Volunteer
from essaim.army.services.mission_base import MAX_OPEN_CLAIMS
from essaim.army.services.notifications import MISSION_OFFERED

WEEK = timedelta(days=7)


def eligible_volunteers(mission: Mission, *, now: datetime | None = None) -> QuerySet[Volunteer]:
    """Volunteers the mission's targeting reaches who still have room in their week."""
    now = now or timezone.now()
    pairs = Q()
    for role_id, stage in mission.targets.values_list("role_id", "stage"):
        pairs |= Q(role_id=role_id, stage=stage)
    if not pairs:
        return Volunteer.objects.none()
    qs = Volunteer.objects.filter(
        models.Exists(RoleAssignment.objects.filter(pairs, volunteer=OuterRef("pk")))
    )
    zones = list(mission.zones.values_list("departement", "region"))
    if zones:
        qs = qs.in_zone(
            departements=[d for d, _r in zones if d], regions=[r for _d, r in zones if r]
        )
    if mission.team_id is not None:
        qs = qs.in_team([mission.team_id])
    else:
        teams = list(mission.target_teams.values_list("pk", flat=True))
        if teams:
            qs = qs.in_team(teams)
    if mission.windows:
        qs = qs.available_in(mission.windows)
    if mission.created_by_id is not None:
        # Its author never does it (essaim.army.services.missions.claim_mission).
        qs = qs.exclude(pk=mission.created_by_id)
    # Who is too busy, in one aggregate over the recent and open claims (a hash anti-join),
    # rather than two correlated subqueries per candidate: at 100,000 volunteers those cost
    # the dispatch most of its time.
    week_ago = now - WEEK
    minutes = mission.per_volunteer_minutes
    busy = (
        Claim.objects.exclude(status=Claim.Status.RELEASED)
        .filter(Q(claimed_at__gte=week_ago) | Q(status__in=Claim.OPEN))
        .values("volunteer_id", "volunteer__weekly_hours")
        .annotate(
            load=Sum(
                "mission__per_volunteer_minutes", filter=Q(claimed_at__gte=week_ago), default=0
            ),
            held=Count("pk", filter=Q(status__in=Claim.OPEN)),
        )
        .filter(
            Q(load__gt=F("volunteer__weekly_hours") * 60 - minutes) | Q(held__gte=MAX_OPEN_CLAIMS)
        )
        .values("volunteer_id")
    )
    return (
        qs.filter(weekly_hours__gte=-(-minutes // 60))  # room for this mission in an empty week
        .exclude(models.Exists(Claim.objects.filter(volunteer=OuterRef("pk"), mission=mission)))
        .exclude(pk__in=busy)
    )


def audience(mission: Mission) -> int:
    """How many volunteers publishing the mission now would notify, for the runner to read
    before publishing: the count of the very query dispatch_mission inserts from."""
    return eligible_volunteers(mission).count()


def _week_load(now: datetime) -> Subquery:
    """Minutes of the claims a volunteer took in the last seven days (correlated)."""
    return Subquery(
        Claim.objects.filter(volunteer=OuterRef("pk"), claimed_at__gte=now - WEEK)
        .exclude(status=Claim.Status.RELEASED)
        .values("volunteer")
        .annotate(m=models.Sum("mission__per_volunteer_minutes"))
        .values("m")
    )


def dispatch_mission(
    mission: Mission, *, limit: int | None = None, now: datetime | None = None
) -> int:
    """Notify the eligible volunteers in one INSERT … SELECT; returns the rows written."""
    now = now or timezone.now()
    qs = eligible_volunteers(mission, now=now)
    if limit is not None:
        qs = qs.annotate(_load=Coalesce(_week_load(now), 0)).order_by(F("_load").asc(), "pk")[
            :limit
        ]
    # A volunteer's primary key is their user id: the rows go straight to the recipients.
    return notifications.notify_selected(
        kind=MISSION_OFFERED, object_id=mission.pk, recipients=qs, at=now
    )
