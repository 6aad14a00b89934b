"""Missions: creation, publication, eligibility, claims, review, points and leaderboards.

Every function owns its transaction. Counters move with F() in conditional UPDATEs so that the
quota and the points stay exact when many volunteers and reviewers act at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Membership
from essaim.army.models import (
    Claim,
    Mission,
    MissionTarget,
    MissionZone,
    Notification,
    RoleAssignment,
    Stage,
    TalkingPoint,
    TalkingPointVersion,
    Volunteer,
    VolunteerMissionSettings,
    VolunteerRole,
)

if TYPE_CHECKING:
    from essaim.accounts.models import Team, User

# Open claims (claimed, submitted or returned) a volunteer may hold at once: work is spread
# over many people rather than hoarded by a few.
MAX_OPEN_CLAIMS = 5


class MissionError(Exception):
    """A refused mission action, with a message for the person who tried it."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class MissionFull(MissionError):
    pass


# --- Talking points -----------------------------------------------------------------------------


def add_talking_point(
    *, title: str, body: str, tags: Iterable[str] = (), by: User | None
) -> TalkingPoint:
    with transaction.atomic():
        point = TalkingPoint.objects.create(
            title=title, tags=sorted({t.strip().lower() for t in tags if t.strip()}), created_by=by
        )
        TalkingPointVersion.objects.create(point=point, number=1, body=body, created_by=by)
    return point


def revise_talking_point(*, point: TalkingPoint, body: str, by: User | None) -> TalkingPointVersion:
    """A new version; older ones stay for the missions that point at them. Retries once if two
    editors revise at the same instant (the unique (point, number) decides)."""
    for _attempt in range(2):
        number = (point.versions.aggregate(n=models.Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                return TalkingPointVersion.objects.create(
                    point=point, number=number, body=body, created_by=by
                )
        except IntegrityError:
            continue
    raise MissionError(_("Quelqu'un a modifié cet argument en même temps ; réessayez."))


def retire_talking_point(*, point: TalkingPoint) -> None:
    TalkingPoint.objects.filter(pk=point.pk, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )


def current_talking_points(tag: str = "") -> QuerySet[TalkingPoint]:
    qs = TalkingPoint.objects.filter(retired_at__isnull=True).order_by("title")
    if tag:
        # JSON containment is not portable to SQLite; the library is small (hundreds of points).
        ids = [p.pk for p in qs.only("id", "tags") if tag.lower() in p.tags]
        qs = qs.filter(pk__in=ids)
    return qs


# --- Creating and publishing --------------------------------------------------------------------


@dataclass(frozen=True)
class Targeting:
    roles: Sequence[VolunteerRole | int] = ()  # none: the mission's role
    stages: Sequence[str] = (Stage.ACTIVE,)
    departements: Sequence[str] = ()
    regions: Sequence[str] = ()
    teams: Sequence[int] = ()  # national missions only: members of these teams
    windows: int = 0


def create_mission(
    *,
    by: User | None,
    kind: str,
    title: str,
    brief: str,
    role: VolunteerRole,
    quota: int,
    deadline: datetime,
    team: Team | None = None,
    targeting: Targeting | None = None,
    talking_point: TalkingPointVersion | None = None,
    points: int = 10,
    per_volunteer_minutes: int = 30,
    **kit: Any,
) -> Mission:
    """A draft mission with its targeting rows. `kit` takes the kit fields (kit_files,
    video_links, embed_codes, target_sites, watch_channels, watch_slots)."""
    targeting = targeting or Targeting()
    if quota < 1:
        raise MissionError(_("Le nombre de réalisations doit être au moins 1."))
    if deadline <= timezone.now():
        raise MissionError(_("L'échéance doit être dans le futur."))
    if talking_point is not None and talking_point.point.retired_at is not None:
        raise MissionError(_("Cet argument est retiré : choisissez-en un à jour."))
    with transaction.atomic():
        mission = Mission.objects.create(
            kind=kind,
            title=title,
            brief=brief,
            role=role,
            team=team,
            quota=quota,
            deadline=deadline,
            talking_point=talking_point,
            points=points,
            per_volunteer_minutes=per_volunteer_minutes,
            windows=targeting.windows,
            created_by=by,
            **kit,
        )
        roles = [r.pk if isinstance(r, VolunteerRole) else r for r in targeting.roles] or [role.pk]
        MissionTarget.objects.bulk_create(
            MissionTarget(mission=mission, role_id=r, stage=s)
            for r in dict.fromkeys(roles)
            for s in dict.fromkeys(targeting.stages)
        )
        MissionZone.objects.bulk_create(
            [MissionZone(mission=mission, departement=d) for d in targeting.departements]
            + [MissionZone(mission=mission, region=r) for r in targeting.regions]
        )
        if targeting.teams and team is None:
            mission.target_teams.set(targeting.teams)
    return mission


def publish_mission(*, mission: Mission) -> int:
    """Publish a draft and notify the eligible volunteers; returns how many were notified."""
    from essaim.army.services.dispatch import dispatch_mission

    with transaction.atomic():
        published = Mission.objects.filter(pk=mission.pk, status=Mission.Status.DRAFT).update(
            status=Mission.Status.PUBLISHED, published_at=timezone.now()
        )
        if not published:
            raise MissionError(_("Cette mission est déjà publiée."))
        if mission.talking_point_id:
            TalkingPointVersion.objects.filter(pk=mission.talking_point_id).update(
                usage_count=F("usage_count") + 1
            )
        mission.refresh_from_db(fields=["status", "published_at"])
        return dispatch_mission(mission)


def close_mission(*, mission: Mission) -> None:
    Mission.objects.filter(pk=mission.pk).update(status=Mission.Status.CLOSED)


# --- Eligibility --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerFacts:
    """What targeting asks about a volunteer, read in two queries."""

    volunteer: Volunteer
    role_stages: tuple[tuple[int, str], ...]
    team_ids: tuple[int, ...]


def facts_of(volunteer: Volunteer) -> VolunteerFacts:
    pairs = tuple(
        RoleAssignment.objects.filter(volunteer=volunteer).values_list("role_id", "stage")
    )
    teams = tuple(
        Membership.objects.filter(user_id=volunteer.pk, state=Membership.State.MEMBER).values_list(
            "team_id", flat=True
        )
    )
    return VolunteerFacts(volunteer, pairs, teams)


def eligible_missions(facts: VolunteerFacts, *, now: datetime | None = None) -> QuerySet[Mission]:
    """Open missions whose targeting matches this volunteer (one query when evaluated)."""
    now = now or timezone.now()
    v = facts.volunteer
    if not facts.role_stages:
        return Mission.objects.none()
    pairs = Q()
    for role_id, stage in facts.role_stages:
        pairs |= Q(role_id=role_id, stage=stage)
    targets = MissionTarget.objects.filter(pairs, mission=OuterRef("pk"))
    any_zone = MissionZone.objects.filter(mission=OuterRef("pk"))
    my_zone = any_zone.filter(
        Q(departement=v.departement, departement__gt="") | Q(region=v.region, region__gt="")
    )
    any_team = Mission.target_teams.through.objects.filter(mission=OuterRef("pk"))
    my_team = any_team.filter(team_id__in=facts.team_ids)
    team_ok = Q(team__isnull=True) & (~Exists(any_team) | Exists(my_team))
    if facts.team_ids:
        team_ok |= Q(team_id__in=facts.team_ids)
    return Mission.objects.alias(_free=F("windows").bitand(v.windows)).filter(
        Exists(targets),
        ~Exists(any_zone) | Exists(my_zone),
        team_ok,
        Q(windows=0) | Q(_free__gt=0),
        status=Mission.Status.PUBLISHED,
        deadline__gt=now,
    )


def is_eligible(volunteer: Volunteer, mission_id: int) -> bool:
    return eligible_missions(facts_of(volunteer)).filter(pk=mission_id).exists()


# --- Claims -------------------------------------------------------------------------------------


def claim_mission(*, volunteer: Volunteer, mission_id: int) -> Claim:
    """Take one slot of the mission. Exactly `quota` slots are ever given, whatever the number
    of volunteers claiming at the same instant: the slot is taken by a conditional UPDATE that
    the database serializes (row lock on PostgreSQL, the write lock on SQLite)."""
    if not is_eligible(volunteer, mission_id):
        raise Mission.DoesNotExist
    now = timezone.now()
    with transaction.atomic():
        # One claim at a time per volunteer, so that the capacity check holds.
        list(Volunteer.objects.select_for_update().filter(pk=volunteer.pk).values_list("pk"))
        existing = Claim.objects.filter(mission_id=mission_id, volunteer=volunteer).first()
        if existing is not None and existing.status != Claim.Status.RELEASED:
            raise MissionError(_("Vous avez déjà pris cette mission."))
        held = Claim.objects.filter(volunteer=volunteer, status__in=Claim.OPEN).count()
        if held >= MAX_OPEN_CLAIMS:
            raise MissionError(
                _("Vous avez déjà %(n)d missions en cours : terminez-en une d'abord.") % {"n": held}
            )
        taken = Mission.objects.filter(
            pk=mission_id,
            status=Mission.Status.PUBLISHED,
            deadline__gt=now,
            slots_taken__lt=F("quota"),
        ).update(slots_taken=F("slots_taken") + 1)
        if not taken:
            raise MissionFull(_("Cette mission est complète."))
        if existing is not None:
            Claim.objects.filter(pk=existing.pk).update(
                status=Claim.Status.CLAIMED, claimed_at=now, feedback=""
            )
            existing.refresh_from_db()
            return existing
        return Claim.objects.create(mission_id=mission_id, volunteer=volunteer, claimed_at=now)


def release_claim(*, claim: Claim) -> None:
    """The volunteer gives up: the slot goes back to the mission."""
    with transaction.atomic():
        released = Claim.objects.filter(
            pk=claim.pk, status__in=(Claim.Status.CLAIMED, Claim.Status.RETURNED)
        ).update(status=Claim.Status.RELEASED)
        if not released:
            raise MissionError(_("Cette mission ne peut plus être abandonnée."))
        Mission.objects.filter(pk=claim.mission_id, slots_taken__gt=0).update(
            slots_taken=F("slots_taken") - 1
        )
    claim.status = Claim.Status.RELEASED


# --- Review -------------------------------------------------------------------------------------


def review_queue(*, teams: Iterable[int] | None) -> QuerySet[Claim]:
    """Submitted claims, oldest first; `teams` None means every mission (HQ), else the
    missions of these teams (a coordinator)."""
    qs = Claim.objects.filter(status=Claim.Status.SUBMITTED)
    if teams is not None:
        qs = qs.filter(mission__team_id__in=list(teams))
    return qs.order_by("submitted_at", "id")


def accept_claim(*, claim: Claim, by: User) -> None:
    """Accept the proof: points for the volunteer (once: the update is conditional on the
    claim still awaiting review), the role's clock of accepted work restarted."""
    now = timezone.now()
    with transaction.atomic():
        mission = Mission.objects.only("points", "role_id").get(pk=claim.mission_id)
        accepted = Claim.objects.filter(pk=claim.pk, status=Claim.Status.SUBMITTED).update(
            status=Claim.Status.ACCEPTED,
            reviewed_at=now,
            reviewed_by=by,
            points=mission.points,
            feedback="",
        )
        if not accepted:
            raise MissionError(_("Cette preuve n'attend plus de relecture."))
        VolunteerMissionSettings.objects.get_or_create(volunteer_id=claim.volunteer_id)
        VolunteerMissionSettings.objects.filter(volunteer_id=claim.volunteer_id).update(
            total_points=F("total_points") + mission.points
        )
        RoleAssignment.objects.filter(
            volunteer_id=claim.volunteer_id, role_id=mission.role_id
        ).update(last_accepted_work_at=now)
        _notify(claim, Notification.Kind.ACCEPTED)
    for assignment in RoleAssignment.objects.filter(
        volunteer_id=claim.volunteer_id, role_id=mission.role_id, stage=Stage.LAPSED
    ):
        # A lapsed role comes back with accepted work (see volunteers.py).
        assignment.move_to(Stage.ACTIVE, by=None, reason="accepted work")
    claim.refresh_from_db()


def return_claim(*, claim: Claim, by: User, feedback: str) -> None:
    feedback = feedback.strip()
    if not feedback:
        raise MissionError(_("Dites au volontaire ce qu'il faut reprendre."))
    with transaction.atomic():
        returned = Claim.objects.filter(pk=claim.pk, status=Claim.Status.SUBMITTED).update(
            status=Claim.Status.RETURNED,
            reviewed_at=timezone.now(),
            reviewed_by=by,
            feedback=feedback[:4000],
        )
        if not returned:
            raise MissionError(_("Cette preuve n'attend plus de relecture."))
        _notify(claim, Notification.Kind.RETURNED)
    claim.refresh_from_db()


def _notify(claim: Claim, kind: str) -> None:
    Notification.objects.update_or_create(
        volunteer_id=claim.volunteer_id,
        mission_id=claim.mission_id,
        kind=kind,
        defaults={"created_at": timezone.now(), "read_at": None, "emailed_at": None},
    )


# --- Leaderboards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    volunteer_id: int
    name: str
    points: int
    missions: int


def leaderboard(
    *,
    team: int | None = None,
    departement: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> list[Standing]:
    """Points in a period, per volunteer, without those who opted out: accepted missions, and
    invitations whose invitee confirmed (essaim.army.services.invitations). `missions` counts
    the accepted missions only. One grouped query over both sources (UNION ALL)."""
    from essaim.army.models import Invitation

    claims = Claim.objects.filter(status=Claim.Status.ACCEPTED)
    invites = Invitation.objects.filter(status=Invitation.Status.CONFIRMED, points__gt=0)
    parts = []
    for qs, who, at, is_mission in (
        (claims, "volunteer", "reviewed_at", 1),
        (invites, "inviter", "confirmed_at", 0),
    ):
        qs = qs.exclude(**{f"{who}__mission_settings__leaderboard_opt_out": True})
        if since is not None:
            qs = qs.filter(**{f"{at}__gte": since})
        if until is not None:
            qs = qs.filter(**{f"{at}__lt": until})
        if team is not None:
            qs = qs.filter(
                Exists(
                    Membership.objects.filter(
                        user_id=OuterRef(f"{who}_id"), team_id=team, state=Membership.State.MEMBER
                    )
                )
            )
        if departement:
            qs = qs.filter(**{f"{who}__departement": departement})
        parts.append(
            qs.annotate(
                board_vid=F(f"{who}_id"),
                board_pts=F("points"),
                board_n=models.Value(is_mission, output_field=models.IntegerField()),
            )
            .values_list("board_vid", "board_pts", "board_n")
            .order_by()
            .query.sql_with_params()
        )
    (sql_claims, p_claims), (sql_invites, p_invites) = parts
    # The parts are Django's own compiled SQL with their parameters kept apart.
    sql = (
        "SELECT board_vid, SUM(board_pts) AS total, SUM(board_n) AS n "  # noqa: S608
        f"FROM ({sql_claims} UNION ALL {sql_invites}) AS board "
        "GROUP BY board_vid ORDER BY total DESC, board_vid LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*p_claims, *p_invites, limit])
        rows = [(int(vid), int(total), int(n)) for vid, total, n in cursor.fetchall()]
    names = dict(
        Volunteer.objects.filter(pk__in=[vid for vid, _t, _n in rows]).values_list(
            "pk", "first_name"
        )
    )
    return [Standing(vid, names.get(vid, ""), total, n) for vid, total, n in rows]
