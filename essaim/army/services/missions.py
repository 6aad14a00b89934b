"""Missions: creation, publication, eligibility, claims, review, points and leaderboards.

Every function owns its transaction. Counters move with F() in conditional UPDATEs so that the
quota and the points stay exact when many volunteers and reviewers act at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from essaim.accounts.models import Membership
from essaim.accounts.services import audit, notifications
from essaim.army.models import (
    Claim,
    Mission,
    MissionTarget,
    MissionZone,
    RoleAssignment,
    Stage,
    TalkingPointVersion,
    Volunteer,
    VolunteerMissionSettings,
    VolunteerRole,
)
from essaim.army.services import notifications as notices
from essaim.army.services.dispatch import audience, dispatch_mission
from essaim.army.services.mission_base import MAX_OPEN_CLAIMS, MissionError
from essaim.army.services.proofs import clean_urls
from essaim.army.services.talking_points import check_usable

if TYPE_CHECKING:
    from essaim.accounts.models import Team, User


class MissionFull(MissionError):
    pass


class SelfReview(MissionError):
    """Someone tried to accept or return their own proof (the API answers 403)."""


def _self_review_check(claim: Claim, by: User) -> None:
    # Nobody reviews their own work, whatever their role (HQ included): a coordinator who is
    # also a volunteer would otherwise award themselves points.
    if by.pk == claim.volunteer_id:
        raise SelfReview(
            _("Vous ne pouvez pas relire votre propre preuve : un autre relecteur s'en charge.")
        )


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
    _check_terms(quota, deadline, talking_point, team)
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


def _check_terms(
    quota: int, deadline: datetime, talking_point: TalkingPointVersion | None, team: Team | None
) -> None:
    """What a mission's creation and a draft's edit both refuse."""
    if quota < 1:
        raise MissionError(_("Le nombre de réalisations doit être au moins 1."))
    if deadline <= timezone.now():
        raise MissionError(_("L'échéance doit être dans le futur."))
    if talking_point is not None:
        check_usable(talking_point, team.pk if team else None)


# The kit's lists a mission holds (URLs, embed codes, a watch's channels and slots).
KIT_FIELDS = (
    "target_sites",
    "kit_files",
    "video_links",
    "embed_codes",
    "watch_channels",
    "watch_slots",
)
# What a copy takes as it is (besides its targeting rows and kit files).
COPIED_FIELDS = (
    "kind",
    "brief",
    "role",
    "team",
    "quota",
    "deadline",
    "talking_point",
    "points",
    "per_volunteer_minutes",
    "windows",
    *KIT_FIELDS,
)


def update_draft(
    *,
    mission: Mission,
    kind: str,
    title: str,
    brief: str,
    role: VolunteerRole,
    quota: int,
    deadline: datetime,
    team: Team | None,
    stages: Sequence[str],
    departements: Sequence[str],
    talking_point: TalkingPointVersion | None = None,
    points: int = 10,
    per_volunteer_minutes: int = 30,
    **kit: Any,
) -> None:
    """Rewrite a draft from the runner's form: its terms, its kit's lists, the stages it targets
    (for each role it targets; the mission's role takes the old one's place among them) and the
    départements it is limited to. What the form does not show stays: other target roles,
    régions, windows (a national mission's target teams too, while it stays national).

    Only a draft changes: volunteers were told what a published mission says. The row is
    locked and its status read again inside the transaction, so that an edit and a publication
    at the same time end as one then the other, never as a published mission rewritten."""
    _check_terms(quota, deadline, talking_point, team)
    if not stages:
        raise MissionError(_("Choisissez au moins une étape visée."))
    with transaction.atomic():
        current = (
            Mission.objects.select_for_update()
            .filter(pk=mission.pk, status=Mission.Status.DRAFT)
            .values("role_id")
            .first()
        )
        if current is None:
            raise MissionError(
                _(
                    "Cette mission n'est plus un brouillon : elle ne se modifie plus. "
                    "Dupliquez-la pour en préparer une autre."
                )
            )
        values = {
            "kind": kind,
            "title": title,
            "brief": brief,
            "role": role,
            "team": team,
            "quota": quota,
            "deadline": deadline,
            "talking_point": talking_point,
            "points": points,
            "per_volunteer_minutes": per_volunteer_minutes,
            **{name: list(kit.get(name, ())) for name in KIT_FIELDS},
        }
        Mission.objects.filter(pk=mission.pk).update(**values)
        roles = set(MissionTarget.objects.filter(mission=mission).values_list("role_id", flat=True))
        if current["role_id"] in roles or not roles:
            roles.discard(current["role_id"])
            roles.add(role.pk)
        MissionTarget.objects.filter(mission=mission).delete()
        MissionTarget.objects.bulk_create(
            MissionTarget(mission_id=mission.pk, role_id=r, stage=s)
            for r in sorted(roles)
            for s in dict.fromkeys(stages)
        )
        MissionZone.objects.filter(mission=mission, region="").delete()
        MissionZone.objects.bulk_create(
            MissionZone(mission_id=mission.pk, departement=d) for d in dict.fromkeys(departements)
        )
        if team is not None:
            mission.target_teams.clear()  # a team's mission reaches its members only
    for name, value in values.items():
        setattr(mission, name, value)


def duplicate_mission(*, mission: Mission, by: User | None) -> Mission:
    """A new draft made from any mission (a draft, a published or a closed one): its terms,
    kit (its files stored again), talking point and targeting (roles and stages, zones, target
    teams, windows), titled "Copie de …". Nothing of the original's life comes along: no
    claim, proof or notification, no publication or HQ decision, no slot taken; its author is
    whoever copies it."""
    from essaim.army.services.kits import copy_kit_files

    source = Mission.objects.get(pk=mission.pk)
    title = str(_("Copie de %(title)s") % {"title": source.title})
    max_length = Mission._meta.get_field("title").max_length or 200
    if len(title) > max_length:
        title = title[: max_length - 1] + "…"
    with transaction.atomic():
        copy = Mission.objects.create(
            title=title,
            created_by=by,
            **{name: getattr(source, name) for name in COPIED_FIELDS},
        )
        MissionTarget.objects.bulk_create(
            MissionTarget(mission=copy, role_id=role_id, stage=stage)
            for role_id, stage in source.targets.values_list("role_id", "stage")
        )
        MissionZone.objects.bulk_create(
            MissionZone(mission=copy, departement=d, region=r)
            for d, r in source.zones.values_list("departement", "region")
        )
        copy.target_teams.set(source.target_teams.all())
        copy_kit_files(source=source, target=copy)
    return copy


def needs_approval(points: int) -> bool:
    """A mission worth more than MISSION_MAX_POINTS waits for HQ before anyone sees it."""
    return points > settings.MISSION_MAX_POINTS


@dataclass(frozen=True)
class PublishPreview:
    """What publishing a draft now would do, for the runner to read before confirming."""

    # Volunteers told at publication: the count of dispatch's own query (dispatch.audience).
    # Above the points cap nobody is told until HQ approves; this is then who would be today.
    notified: int
    needs_approval: bool


def publish_preview(mission: Mission) -> PublishPreview:
    return PublishPreview(notified=audience(mission), needs_approval=needs_approval(mission.points))


def publish_mission(*, mission: Mission, by: User | None = None) -> int:
    """Publish a draft and notify the eligible volunteers; returns how many were notified.

    A mission above the points cap is not published but set awaiting HQ's approval (whoever
    publishes it, HQ included): `mission.status` says which happened, and 0 are notified.
    A draft whose deadline has passed (a copy of an old mission) is refused: nobody could
    take it.
    """
    if mission.deadline <= timezone.now():
        raise MissionError(
            _("L'échéance de cette mission est passée : modifiez-la avant de la publier.")
        )
    if needs_approval(mission.points):
        with transaction.atomic():
            moved = Mission.objects.filter(pk=mission.pk, status=Mission.Status.DRAFT).update(
                status=Mission.Status.AWAITING
            )
            if not moved:
                raise MissionError(_("Cette mission n'est plus un brouillon."))
            audit(
                action="army.mission_approval_requested",
                actor=by,
                obj=mission,
                points=mission.points,
                cap=settings.MISSION_MAX_POINTS,
            )
            notices.approval_requested(
                mission_id=mission.pk,
                author_id=mission.created_by_id,
                actor_id=by.pk if by is not None else None,
            )
        mission.status = Mission.Status.AWAITING
        return 0
    return publish_now(mission=mission, from_status=Mission.Status.DRAFT)


def publish_now(*, mission: Mission, from_status: str, **fields: Any) -> int:
    """Publish (from `from_status`, conditionally: two clicks publish once) and dispatch.
    `fields` are written with the status (HQ's decision on an awaiting mission)."""
    with transaction.atomic():
        published = Mission.objects.filter(pk=mission.pk, status=from_status).update(
            status=Mission.Status.PUBLISHED, published_at=timezone.now(), **fields
        )
        if not published:
            raise MissionError(
                _("Cette mission est déjà publiée.")
                if from_status == Mission.Status.DRAFT
                else _("Cette mission n'attend plus de décision.")
            )
        if mission.talking_point_id:
            TalkingPointVersion.objects.filter(pk=mission.talking_point_id).update(
                usage_count=F("usage_count") + 1
            )
        mission.refresh_from_db(fields=["status", "published_at"])
        return dispatch_mission(mission)


@dataclass(frozen=True)
class Closing:
    """What closing a mission did to its open claims, for the runner's message."""

    released: int  # claimed or returned, not proved: given up, the volunteer told
    awaiting_review: int  # proved: still reviewed, so work done is still credited


def close_mission(*, mission: Mission) -> Closing:
    """Close a draft or published mission: no new claim from now on. Claims not yet proved
    (claimed, returned) are released and their volunteers notified, so that nobody keeps
    working on a mission that is over; proofs already sent stay in the review queue and earn
    their points if accepted."""
    now = timezone.now()
    with transaction.atomic():
        closed = Mission.objects.filter(
            pk=mission.pk,
            status__in=(Mission.Status.DRAFT, Mission.Status.AWAITING, Mission.Status.PUBLISHED),
        ).update(status=Mission.Status.CLOSED)
        if not closed:
            raise MissionError(_("Cette mission est déjà close."))
        to_release = Claim.objects.filter(
            mission_id=mission.pk, status__in=(Claim.Status.CLAIMED, Claim.Status.RETURNED)
        )
        volunteer_ids = list(to_release.values_list("volunteer_id", flat=True))
        released = to_release.update(status=Claim.Status.RELEASED)
        notifications.notify(
            kind=notices.MISSION_CLOSED, object_id=mission.pk, recipients=volunteer_ids, at=now
        )
        # Nothing waits for a decision on a closed mission any more, and nobody for its offer.
        notifications.settle(
            kinds=(notices.MISSION_APPROVAL, notices.MISSION_OFFERED), object_id=mission.pk
        )
        awaiting = Claim.objects.filter(
            mission_id=mission.pk, status=Claim.Status.SUBMITTED
        ).count()
    mission.status = Mission.Status.CLOSED
    return Closing(released=released, awaiting_review=awaiting)


KIT_URL_FIELDS = ("target_sites", "video_links")


def update_kit(
    *,
    mission: Mission,
    target_sites: Sequence[str],
    video_links: Sequence[str],
    embed_codes: Sequence[str],
) -> None:
    """Replace the kit's lists. URLs are checked (http and https only: a javascript: or data:
    target is refused); embed codes are kept as text and only ever shown escaped."""
    if mission.status == Mission.Status.CLOSED:
        raise MissionError(_("Cette mission est close."))
    sites = clean_urls(target_sites, limit=MAX_KIT_URLS)
    videos = clean_urls(video_links, limit=MAX_KIT_URLS)
    codes = [c.strip() for c in embed_codes if c.strip()]
    if len(codes) > MAX_EMBED_CODES or any(len(c) > MAX_EMBED_LENGTH for c in codes):
        raise MissionError(
            _("%(n)d codes d'intégration au plus, de %(len)d caractères au plus chacun.")
            % {"n": MAX_EMBED_CODES, "len": MAX_EMBED_LENGTH}
        )
    Mission.objects.filter(pk=mission.pk).update(
        target_sites=sites, video_links=videos, embed_codes=codes
    )
    mission.target_sites, mission.video_links, mission.embed_codes = sites, videos, codes


MAX_KIT_URLS = 100
MAX_EMBED_CODES = 20
MAX_EMBED_LENGTH = 4000


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
    return (
        Mission.objects.alias(_free=F("windows").bitand(v.windows))
        .filter(
            Exists(targets),
            ~Exists(any_zone) | Exists(my_zone),
            team_ok,
            Q(windows=0) | Q(_free__gt=0),
            status=Mission.Status.PUBLISHED,
            deadline__gt=now,
        )
        # Its author never does a mission (see claim_mission).
        .exclude(created_by_id=v.pk)
    )


def is_eligible(volunteer: Volunteer, mission_id: int) -> bool:
    return eligible_missions(facts_of(volunteer)).filter(pk=mission_id).exists()


# --- Claims -------------------------------------------------------------------------------------


def claim_mission(*, volunteer: Volunteer, mission_id: int) -> Claim:
    """Take one slot of the mission. Exactly `quota` slots are ever given, whatever the number
    of volunteers claiming at the same instant: the slot is taken by a conditional UPDATE that
    the database serializes (row lock on PostgreSQL, the write lock on SQLite).

    A mission's author may not claim it: they set its points and its terms, so doing it
    themselves would be paying themselves, even with someone else reviewing the proof."""
    if Mission.objects.filter(pk=mission_id, created_by_id=volunteer.pk).exists():
        raise MissionError(
            _("Vous avez créé cette mission : elle est pour d'autres volontaires que vous.")
        )
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
                ngettext(
                    "Vous avez déjà %(n)d mission en cours : terminez-la d'abord.",
                    "Vous avez déjà %(n)d missions en cours : terminez-en une d'abord.",
                    held,
                )
                % {"n": held}
            )
        taken = Mission.objects.filter(
            pk=mission_id,
            status=Mission.Status.PUBLISHED,
            deadline__gt=now,
            slots_taken__lt=F("quota"),
        ).update(slots_taken=F("slots_taken") + 1)
        if not taken:
            raise MissionFull(_("Cette mission est complète."))
        # Taking the mission answers its offer: the notification of it is read.
        notifications.mark_read_about(
            user_id=volunteer.pk, kinds=(notices.MISSION_OFFERED,), object_id=mission_id
        )
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
    claim still awaiting review), the role's clock of accepted work restarted. SelfReview
    when `by` submitted the proof."""
    _self_review_check(claim, by)
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
        notices.proof_reviewed(
            claim_id=claim.pk,
            mission_id=claim.mission_id,
            volunteer_id=claim.volunteer_id,
            reviewer_id=by.pk,
            accepted=True,
        )
    for assignment in RoleAssignment.objects.filter(
        volunteer_id=claim.volunteer_id, role_id=mission.role_id, stage=Stage.LAPSED
    ):
        # A lapsed role comes back with accepted work (see volunteers.py).
        assignment.move_to(Stage.ACTIVE, by=None, reason="accepted work")
    claim.refresh_from_db()


def return_claim(*, claim: Claim, by: User, feedback: str) -> None:
    _self_review_check(claim, by)
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
        notices.proof_reviewed(
            claim_id=claim.pk,
            mission_id=claim.mission_id,
            volunteer_id=claim.volunteer_id,
            reviewer_id=by.pk,
            accepted=False,
        )
    claim.refresh_from_db()


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
