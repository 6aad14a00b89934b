"""The army's figures for the home page: the army as HQ sees it (volunteers per role, stage and
zone, missions open, proofs waiting), the calls and their funnels, a coordinator's teams and
their missions, a volunteer's own missions, points and teams.

Each figure is one grouped query (or an aggregate), whatever the number of volunteers, missions
or claims; Python only arranges the few rows that come back. The panels that show them, and who
sees which, are in essaim/army/dashboard.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum
from django.utils import timezone

from essaim.accounts.models import Membership, Team
from essaim.army.models import (
    Call,
    CallEvent,
    Claim,
    Invitation,
    Mission,
    RoleAssignment,
    Stage,
    Volunteer,
    VolunteerMissionSettings,
    VolunteerRole,
)
from essaim.army.services.calls import STEPS
from essaim.army.services.missions import eligible_missions, facts_of
from essaim.lib.timeseries import last_days, per_day
from essaim.mailing.models import Delivery

MISSIONS_SHOWN: Final = 8
WEEKS_SHOWN: Final = 8


# --- The army, as HQ (everywhere) or a coordinator (their zones) sees it -------------------------


@dataclass(frozen=True)
class RoleStages:
    role: VolunteerRole
    stages: dict[str, int]  # every Stage value, zeros included


def roles_by_stage(departements: Sequence[str] | None) -> list[RoleStages]:
    """Volunteers per role and stage (a volunteer counts once in each role they hold), every
    role listed in its order; `departements` limits to volunteers of these zones."""
    assignments = RoleAssignment.objects.all()
    if departements is not None:
        assignments = assignments.filter(volunteer__departement__in=list(departements))
    counts = {
        (role_id, stage): n
        for role_id, stage, n in assignments.order_by()
        .values_list("role_id", "stage")
        .annotate(n=Count("*"))
        .values_list("role_id", "stage", "n")
    }
    return [
        RoleStages(role, {stage: counts.get((role.pk, stage), 0) for stage in Stage.values})
        for role in VolunteerRole.objects.order_by("position", "pk")
    ]


def active_by_zone(departements: Sequence[str] | None) -> dict[str, int]:
    """Volunteers active in at least one role, per région (the whole country) or per
    département (within `departements`); the most numerous first, "" for no known zone."""
    active = Volunteer.objects.filter(
        Exists(RoleAssignment.objects.filter(volunteer=OuterRef("pk"), stage=Stage.ACTIVE))
    )
    column = "region"
    if departements is not None:
        active, column = active.filter(departement__in=list(departements)), "departement"
    rows = active.order_by().values_list(column).annotate(n=Count("*")).values_list(column, "n")
    return dict(sorted(rows, key=lambda row: (-row[1], row[0])))


@dataclass(frozen=True)
class MissionFigures:
    open: int  # published, deadline ahead
    slots: int  # their quotas
    taken: int  # their slots taken
    awaiting: int  # waiting for HQ's approval


def mission_figures(
    teams: Iterable[int] | None, *, now: dt.datetime | None = None
) -> MissionFigures:
    """Missions of these teams (None: every mission, national ones included), in one aggregate."""
    now = now or timezone.now()
    scope = Q() if teams is None else Q(team_id__in=list(teams))
    is_open = Q(status=Mission.Status.PUBLISHED, deadline__gt=now)
    found = Mission.objects.filter(scope).aggregate(
        open=Count("pk", filter=is_open),
        slots=Sum("quota", filter=is_open),
        taken=Sum("slots_taken", filter=is_open),
        awaiting=Count("pk", filter=Q(status=Mission.Status.AWAITING)),
    )
    return MissionFigures(
        found["open"], found["slots"] or 0, found["taken"] or 0, found["awaiting"]
    )


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest: dt.datetime | None  # when the proof waiting longest was sent


def proofs_waiting(teams: Iterable[int] | None) -> Waiting:
    """Proofs waiting for review on the missions of these teams (None: every mission), and the
    oldest one's time: one aggregate."""
    claims = Claim.objects.filter(status=Claim.Status.SUBMITTED)
    if teams is not None:
        claims = claims.filter(mission__team_id__in=list(teams))
    found = claims.aggregate(count=Count("pk"), oldest=Min("submitted_at"))
    return Waiting(found["count"], found["oldest"])


# --- Calls ---------------------------------------------------------------------------------------


def funnel_totals(calls: Sequence[Call]) -> dict[int, dict[str, int]]:
    """Each call's funnel totals (reached, visited, signed up, first mission accepted), as
    call_funnel counts them, for several calls in three queries."""
    table = {call.pk: dict.fromkeys(STEPS, 0) for call in calls}
    if not calls:
        return table
    call_of = {call.campaign_id: call.pk for call in calls}
    reached = (
        Delivery.objects.filter(campaign_id__in=list(call_of), status=Delivery.Status.ACCEPTED)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("*"))
        .values_list("campaign_id", "n")
    )
    for campaign_id, n in reached:
        table[call_of[campaign_id]]["reached"] = n
    events = CallEvent.objects.filter(call_id__in=list(table))
    steps: dict[str, str] = {CallEvent.Kind.VISIT: "visited", CallEvent.Kind.SIGNUP: "signed_up"}
    for call_id, kind, n in (
        events.order_by()
        .values_list("call_id", "kind")
        .annotate(n=Count("*"))
        .values_list("call_id", "kind", "n")
    ):
        table[call_id][steps[kind]] = n
    worked = Claim.objects.filter(
        status=Claim.Status.ACCEPTED, volunteer__contact_id=OuterRef("contact_id")
    )
    for call_id, n in (
        events.filter(Exists(worked), kind=CallEvent.Kind.SIGNUP)
        .order_by()
        .values_list("call_id")
        .annotate(n=Count("*"))
        .values_list("call_id", "n")
    ):
        table[call_id]["first_mission"] = n
    return table


# --- A coordinator's teams -----------------------------------------------------------------------


@dataclass(frozen=True)
class TeamLine:
    team: Team
    members: int
    requests: int  # join requests waiting for a decision


def team_lines(team_ids: Iterable[int]) -> list[TeamLine]:
    """These teams by name, with their members and their requests waiting: two queries."""
    teams = list(Team.objects.filter(pk__in=list(team_ids)).order_by("name"))
    counts = {
        (team_id, state): n
        for team_id, state, n in Membership.objects.filter(
            team__in=[t.pk for t in teams],
            state__in=[Membership.State.MEMBER, Membership.State.REQUESTED],
        )
        .order_by()
        .values_list("team_id", "state")
        .annotate(n=Count("*"))
        .values_list("team_id", "state", "n")
    }
    return [
        TeamLine(
            team,
            counts.get((team.pk, Membership.State.MEMBER), 0),
            counts.get((team.pk, Membership.State.REQUESTED), 0),
        )
        for team in teams
    ]


@dataclass(frozen=True)
class MissionProgress:
    mission: Mission
    accepted: int
    submitted: int  # proofs to review
    working: int  # claimed, or returned for another try
    free: int  # slots nobody took

    @property
    def done_percent(self) -> int:
        return self.accepted * 100 // self.mission.quota if self.mission.quota else 0


def mission_progress(
    teams: Iterable[int], *, now: dt.datetime | None = None, limit: int = MISSIONS_SHOWN
) -> list[MissionProgress]:
    """The open missions of these teams, the nearest deadline first, with where their slots
    stand: two queries."""
    missions = list(
        Mission.objects.filter(
            team_id__in=list(teams),
            status=Mission.Status.PUBLISHED,
            deadline__gt=now or timezone.now(),
        )
        .order_by("deadline", "pk")
        .only("title", "team", "quota", "slots_taken", "deadline")[:limit]
    )
    counts = {
        (mission_id, status): n
        for mission_id, status, n in Claim.objects.filter(mission__in=[m.pk for m in missions])
        .order_by()
        .values_list("mission_id", "status")
        .annotate(n=Count("*"))
        .values_list("mission_id", "status", "n")
    }

    def n(mission: Mission, *statuses: str) -> int:
        return sum(counts.get((mission.pk, status), 0) for status in statuses)

    return [
        MissionProgress(
            m,
            n(m, Claim.Status.ACCEPTED),
            n(m, Claim.Status.SUBMITTED),
            n(m, Claim.Status.CLAIMED, Claim.Status.RETURNED),
            max(m.quota - m.slots_taken, 0),
        )
        for m in missions
    ]


# --- A volunteer's own -----------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerMissions:
    offered: int  # open missions offered to them, not taken, with a slot left
    offers: list[Mission]  # the first of them, the nearest deadline first
    claims: list[Claim]  # their claims still open (taken, proof sent, to rework)


def volunteer_missions(volunteer: Volunteer, *, limit: int = 5) -> VolunteerMissions:
    """What "Mes missions" shows, in short: four queries (the volunteer's facts, two for the
    offers, one for the claims)."""
    mine = Claim.objects.filter(mission=OuterRef("pk"), volunteer=volunteer)
    offers = eligible_missions(facts_of(volunteer)).filter(
        ~Exists(mine), slots_taken__lt=F("quota")
    )
    claims = list(
        Claim.objects.filter(volunteer=volunteer, status__in=Claim.OPEN)
        .select_related("mission")
        .only("status", "claimed_at", "mission__title", "mission__deadline")
        .order_by("mission__deadline", "pk")[:20]
    )
    return VolunteerMissions(
        offers.count(),
        list(offers.order_by("deadline", "pk").only("title", "deadline", "points")[:limit]),
        claims,
    )


@dataclass(frozen=True)
class Points:
    total: int  # all points ever
    missions: int  # accepted missions, ever
    weeks: list[dt.date]  # the Mondays of the last weeks, the current one last
    from_missions: list[int]  # points per week, aligned on `weeks`
    from_invitations: list[int]


def volunteer_points(
    volunteer: Volunteer, *, weeks: int = WEEKS_SHOWN, now: dt.datetime | None = None
) -> Points:
    """Their points per week over the last weeks, from accepted missions and confirmed
    invitations: two grouped queries, and two for the totals."""
    days, _start = last_days(7 * weeks, now=now)
    monday = days[-1] - dt.timedelta(days=days[-1].weekday())
    mondays = [monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    start = timezone.make_aware(dt.datetime.combine(mondays[0], dt.time.min))

    def weekly(found: dict[tuple[dt.date, object], int]) -> list[int]:
        per_week = dict.fromkeys(mondays, 0)
        for (day, _group), n in found.items():
            week = day - dt.timedelta(days=day.weekday())
            if week in per_week:
                per_week[week] += n
        return list(per_week.values())

    accepted = Claim.objects.filter(volunteer=volunteer, status=Claim.Status.ACCEPTED)
    from_missions = weekly(
        per_day(accepted.filter(reviewed_at__gte=start), "reviewed_at", value=Sum("points"))
    )
    from_invitations = weekly(
        per_day(
            Invitation.objects.filter(
                inviter=volunteer, status=Invitation.Status.CONFIRMED, confirmed_at__gte=start
            ),
            "confirmed_at",
            value=Sum("points"),
        )
    )
    total = (
        VolunteerMissionSettings.objects.filter(pk=volunteer.pk)
        .values_list("total_points", flat=True)
        .first()
    )
    return Points(
        total or 0,
        accepted.count(),
        mondays,
        from_missions,
        from_invitations,
    )


def memberships_of(volunteer: Volunteer) -> list[Membership]:
    """Their teams and requests (not the ones they left or were declined), by name."""
    return list(
        Membership.objects.filter(
            user_id=volunteer.pk,
            state__in=[Membership.State.MEMBER, Membership.State.REQUESTED],
        )
        .select_related("team")
        .order_by("team__name")
    )
