"""HQ's watch over points: missions above the points cap waiting for approval, and sudden jumps
in a person's points.

Self-dealing is closed at three doors: nobody reviews their own proof and a mission's author
never claims it (essaim.army.services.missions); a mission worth more than MISSION_MAX_POINTS
is seen by nobody until an HQ member other than its author approves it (here, audited); and
what slips through shows up as a jump in someone's points on HQ's list (here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.accounts.rules import is_hq
from essaim.accounts.services import audit
from essaim.army.models import Claim, Invitation, Mission, Volunteer
from essaim.army.services import notifications as notices
from essaim.army.services.missions import MissionError, publish_now

if TYPE_CHECKING:
    from django.http import HttpRequest

    from essaim.accounts.models import User


# --- Missions above the points cap --------------------------------------------------------------


def awaiting_approval() -> QuerySet[Mission]:
    """Missions waiting for HQ's decision, oldest first."""
    return (
        Mission.objects.filter(status=Mission.Status.AWAITING)
        .select_related("team", "role", "created_by")
        .order_by("created_at", "pk")
    )


def _check_decider(mission: Mission, by: User) -> None:
    if not is_hq(by):
        raise MissionError(_("Seul le QG décide des missions au-delà du plafond de points."))
    # The same four-eyes rule as campaigns: HQ's own missions above the cap need another HQ
    # member, or the cap would not bind HQ at all.
    if mission.created_by_id is not None and mission.created_by_id == by.pk:
        raise MissionError(
            _("Vous avez créé cette mission : un autre membre du QG doit en décider.")
        )


def approve_mission(*, mission: Mission, by: User, request: HttpRequest | None = None) -> int:
    """An HQ member other than its author approves an awaiting mission: it is published and
    dispatched at once; returns how many volunteers were notified. Audited."""
    _check_decider(mission, by)
    with transaction.atomic():
        notified = publish_now(
            mission=mission,
            from_status=Mission.Status.AWAITING,
            decided_by=by,
            decided_at=timezone.now(),
        )
        audit(
            action="army.mission_approved",
            actor=by,
            request=request,
            obj=mission,
            points=mission.points,
            author=mission.created_by_id,
        )
        notices.approval_decided(mission_id=mission.pk)
    return notified


def refuse_mission(
    *, mission: Mission, by: User, reason: str = "", request: HttpRequest | None = None
) -> None:
    """An HQ member other than its author refuses an awaiting mission: it is never published
    (its author may create another with fewer points). Audited with the reason."""
    _check_decider(mission, by)
    with transaction.atomic():
        refused = Mission.objects.filter(pk=mission.pk, status=Mission.Status.AWAITING).update(
            status=Mission.Status.REFUSED, decided_by=by, decided_at=timezone.now()
        )
        if not refused:
            raise MissionError(_("Cette mission n'attend plus de décision."))
        audit(
            action="army.mission_refused",
            actor=by,
            request=request,
            obj=mission,
            points=mission.points,
            author=mission.created_by_id,
            reason=reason.strip()[:500],
        )
        notices.approval_decided(mission_id=mission.pk)
    mission.status = Mission.Status.REFUSED


# --- Sudden jumps in points ---------------------------------------------------------------------

BASELINE_WEEKS = 8


@dataclass(frozen=True)
class Jump:
    volunteer_id: int
    name: str
    last_day: int  # points in the last 24 hours
    last_week: int  # points in the last 7 days
    weekly_average: float  # points per week over the BASELINE_WEEKS weeks before those 7 days


def points_jumps(*, now: datetime | None = None, limit: int = 200) -> list[Jump]:
    """People whose points jumped, most points this week first, in one grouped query.

    The rule, with F = MISSION_POINTS_JUMP_FACTOR and FLOOR = MISSION_POINTS_JUMP_FLOOR:
    a person is listed when, over the last 7 days, they earned more than FLOOR points and more
    than F times their own weekly average over the 8 weeks before; or when, over the last 24
    hours, they earned more than FLOOR and more than F times their daily average over those
    8 weeks. Points are those of accepted proofs (at review) and confirmed invitations (at
    confirmation), as on the leaderboards. A newcomer has an average of 0, so FLOOR alone
    decides: it stands for what an ordinary volunteer earns in a week.
    """
    now = now or timezone.now()
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    start = week_ago - timedelta(weeks=BASELINE_WEEKS)
    parts = []
    for qs, who, at in (
        (Claim.objects.filter(status=Claim.Status.ACCEPTED), "volunteer_id", "reviewed_at"),
        (
            Invitation.objects.filter(status=Invitation.Status.CONFIRMED, points__gt=0),
            "inviter_id",
            "confirmed_at",
        ),
    ):
        zero = Value(0, output_field=models.IntegerField())
        points = F("points")
        parts.append(
            qs.filter(**{f"{at}__gte": start, f"{who}__isnull": False})
            .annotate(
                j_vid=F(who),
                j_day=Case(When(**{f"{at}__gte": day_ago}, then=points), default=zero),
                j_week=Case(When(**{f"{at}__gte": week_ago}, then=points), default=zero),
                j_before=Case(When(**{f"{at}__lt": week_ago}, then=points), default=zero),
            )
            .values_list("j_vid", "j_day", "j_week", "j_before")
            .order_by()
            .query.sql_with_params()
        )
    (sql_claims, p_claims), (sql_invites, p_invites) = parts
    factor, floor = float(settings.MISSION_POINTS_JUMP_FACTOR), settings.MISSION_POINTS_JUMP_FLOOR
    days = BASELINE_WEEKS * 7
    volunteers = connection.ops.quote_name(Volunteer._meta.db_table)
    # The parts are Django's own compiled SQL with their parameters kept apart; the averages
    # are compared multiplied out (week × 8 > F × before) to stay in integers where possible.
    sql = (
        "SELECT j.j_vid, v.first_name, j.day_pts, j.week_pts, j.before_pts FROM ("  # noqa: S608
        "SELECT j_vid, SUM(j_day) AS day_pts, SUM(j_week) AS week_pts, "
        "SUM(j_before) AS before_pts "
        f"FROM ({sql_claims} UNION ALL {sql_invites}) AS pts GROUP BY j_vid"
        f") AS j JOIN {volunteers} AS v ON v.user_id = j.j_vid "
        "WHERE (j.week_pts > %s AND j.week_pts * %s > %s * j.before_pts) "
        "OR (j.day_pts > %s AND j.day_pts * %s > %s * j.before_pts) "
        "ORDER BY j.week_pts DESC, j.j_vid LIMIT %s"
    )
    params = [
        *p_claims,
        *p_invites,
        floor,
        BASELINE_WEEKS,
        factor,
        floor,
        days,
        factor,
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Jump(int(vid), name or "", int(day), int(week), int(before) / BASELINE_WEEKS)
        for vid, name, day, week, before in rows
    ]


@dataclass(frozen=True)
class Work:
    claims: list[Claim]
    invitations_confirmed: int
    invitation_points: int


def accepted_work(volunteer: Volunteer, *, limit: int = 200) -> Work:
    """What earned a person their points, newest first: accepted proofs with their mission, its
    author and the reviewer, and the count of confirmed invitations. For HQ, to check a jump."""
    claims = list(
        Claim.objects.filter(volunteer=volunteer, status=Claim.Status.ACCEPTED)
        .select_related("mission", "mission__team", "mission__created_by", "reviewed_by")
        .order_by("-reviewed_at", "-pk")[:limit]
    )
    confirmed = Invitation.objects.filter(
        inviter=volunteer, status=Invitation.Status.CONFIRMED
    ).aggregate(n=models.Count("pk"), points=models.Sum("points"))
    return Work(claims, confirmed["n"] or 0, confirmed["points"] or 0)
