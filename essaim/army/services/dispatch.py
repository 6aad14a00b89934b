"""Dispatch: telling eligible volunteers about a published mission, fairly, and the digest.

Fairness here means two things, both decided in SQL: a volunteer whose week is already full
(the estimated minutes of the claims taken in the last seven days plus this mission's would pass
the weekly hours they declared) is not asked, and neither is one who holds the maximum of open
claims. When a limit is given, the least loaded are asked first. The notifications are written
by one INSERT … SELECT, whatever the number of volunteers; the unique constraint makes a second
dispatch of the same mission a no-op.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, models, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from essaim.army.models import (
    Claim,
    Mission,
    Notification,
    RoleAssignment,
    Volunteer,
    VolunteerMissionSettings,
)
from essaim.army.services.mission_base import MAX_OPEN_CLAIMS

WEEK = timedelta(days=7)
logger = logging.getLogger(__name__)


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
    select = qs.annotate(
        _mission=Value(mission.pk, output_field=models.BigIntegerField()),
        _kind=Value(Notification.Kind.NEW_MISSION, output_field=models.CharField()),
        _at=Value(now, output_field=models.DateTimeField()),
    ).values_list("pk", "_mission", "_kind", "_at")
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(Notification._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite needs the SELECT to be wrapped for ON CONFLICT not to read as a join clause.
        cursor.execute(
            f"INSERT INTO {table} (volunteer_id, mission_id, kind, created_at) "  # noqa: S608
            f"SELECT * FROM ({sql}) AS eligible WHERE 1 = 1 ON CONFLICT DO NOTHING",
            params,
        )
        return max(cursor.rowcount, 0)


# --- The email digest ---------------------------------------------------------------------------

DIGEST_EVERY: dict[str, timedelta] = {
    VolunteerMissionSettings.Digest.DAILY: timedelta(hours=20),
    VolunteerMissionSettings.Digest.WEEKLY: timedelta(days=6, hours=20),
}


def send_digests(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mail each volunteer who wants a digest the notifications not yet mailed. The
    notifications are marked before the mail leaves (after commit): a crash loses a digest,
    never sends one twice; the notifications stay in the app either way."""
    now = now or timezone.now()
    waiting = (
        Notification.objects.filter(emailed_at__isnull=True)
        .values_list("volunteer_id", flat=True)
        .distinct()
        .order_by("volunteer_id")
    )
    sent, last = 0, 0
    while True:
        ids = list(waiting.filter(volunteer_id__gt=last)[:batch])
        if not ids:
            break
        last = ids[-1]
        prefs = {p.pk: p for p in VolunteerMissionSettings.objects.filter(volunteer_id__in=ids)}
        for volunteer_id in ids:
            pref = prefs.get(volunteer_id)
            choice = pref.digest if pref else VolunteerMissionSettings.Digest.DAILY
            if choice == VolunteerMissionSettings.Digest.NEVER:
                continue
            if pref and pref.last_digest_at and now - pref.last_digest_at < DIGEST_EVERY[choice]:
                continue
            sent += _send_one_digest(volunteer_id, now)
    return sent


def _send_one_digest(volunteer_id: int, now: datetime) -> int:
    with transaction.atomic():
        notes = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(volunteer_id=volunteer_id, emailed_at__isnull=True)
            .select_related("mission")
            .order_by("created_at", "pk")
        )
        if not notes:
            return 0
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=now)
        VolunteerMissionSettings.objects.update_or_create(
            volunteer_id=volunteer_id, defaults={"last_digest_at": now}
        )
        volunteer = Volunteer.objects.select_related("user").get(pk=volunteer_id)
        message = _digest_message(volunteer, notes)
        transaction.on_commit(lambda: _send_quietly(message))
    return 1


def _send_quietly(message: EmailMultiAlternatives) -> None:
    # The notifications are already marked mailed; a failed digest is logged, not retried
    # (no message twice), and the volunteer still sees everything in the app.
    try:
        message.send()
    except (OSError, smtplib.SMTPException):
        logger.warning("mission digest to %s failed", message.to, exc_info=True)


def _digest_message(volunteer: Volunteer, notes: list[Notification]) -> EmailMultiAlternatives:
    with translation.override("fr"):
        context = {
            "volunteer": volunteer,
            "notes": notes,
            "url": settings.SITE_URL + reverse("army:my_missions"),
            "settings_url": settings.SITE_URL + reverse("army:mission_settings"),
        }
        subject = _("Vos missions Essaim")
        text = render_to_string("army/mail/missions_digest.txt", context)
    return EmailMultiAlternatives(
        subject, text, to=[volunteer.user.email], headers={"Auto-Submitted": "auto-generated"}
    )
