"""The army's panels of the home page (registered in apps.py): who sees which, and what they
show, from the figures of services/dashboard.py. HQ: the army everywhere and the calls; a
coordinator: the volunteers of their zones and their teams; a volunteer: their own missions,
points and teams, nothing of the base and nothing of anyone else."""

from __future__ import annotations

from typing import Any, Final

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from essaim.accounts.rules import is_active_user, is_hq
from essaim.army import rules
from essaim.army.models import (
    Call,
    Claim,
    Stage,
)
from essaim.army.rules.missions import volunteer_of
from essaim.army.services.calls import STEP_LABELS, STEPS, call_funnel, funnel_chart
from essaim.army.services.dashboard import (
    active_by_zone,
    funnel_totals,
    memberships_of,
    mission_figures,
    mission_progress,
    proofs_waiting,
    roles_by_stage,
    team_lines,
    volunteer_missions,
    volunteer_points,
)
from essaim.lib.charts import Chart, Series
from essaim.people.services.zones import zone_names

# --- The panels ----------------------------------------------------------------------------------

STAGE_COLORS: Final = {
    Stage.APPLIED: "chart-5",
    Stage.TRAINED: "chart-2",
    Stage.ACTIVE: "color-success",
    Stage.LAPSED: "chart-6",
}


def _runs_zones(user: Any) -> bool:
    return bool(is_active_user(user) and user.is_coordinator)


def army_panel(user: Any) -> dict[str, Any] | None:
    """HQ: the whole army, its missions and its proofs waiting. A coordinator: the volunteers of
    their zones (their teams' missions and proofs are in their team's panel)."""
    hq = is_hq(user)
    if not (hq or _runs_zones(user)):
        return None
    scope = None if hq else list(user.zones or [])
    roles = roles_by_stage(scope)
    stages = dict(Stage.choices)
    regions, departements = zone_names()
    names = regions if scope is None else departements
    zones = active_by_zone(scope)
    context: dict[str, Any] = {
        "everywhere": scope is None,
        "active": sum(zones.values()),
        "roles_chart": Chart(
            id="army-roles",
            title=_("Volontaires par rôle et par étape"),
            kind="bar",
            labels=[r.role.label for r in roles],
            series=[
                Series(str(stages[stage]), [r.stages[stage] for r in roles], color)
                for stage, color in STAGE_COLORS.items()
            ],
            stacked=True,
            horizontal=True,
            row_header=_("Rôle"),
        ),
        "zones_chart": Chart(
            id="army-zones",
            title=_("Volontaires actifs par région")
            if scope is None
            else _("Volontaires actifs par département"),
            kind="bar",
            labels=[names.get(code, code) if code else _("Zone inconnue") for code in zones],
            series=[Series(_("Volontaires actifs"), list(zones.values()), "color-success")],
            horizontal=True,
            row_header=_("Région") if scope is None else _("Département"),
        ),
        "teams_url": reverse("army:team_list"),
    }
    if hq:
        context["missions"] = mission_figures(None)
        context["proofs"] = proofs_waiting(None)
        context["missions_url"] = reverse("army:missions_run")
        context["review_url"] = reverse("army:review_queue")
        context["approvals_url"] = reverse("army:mission_approvals")
    return context


def calls_panel(user: Any) -> dict[str, Any] | None:
    """HQ's: the last call's funnel over time, and the last calls' totals."""
    if not rules.can_manage_calls(user):
        return None
    calls = list(Call.objects.select_related("campaign").order_by("-created_at", "-pk")[:5])
    totals = funnel_totals(calls)
    context: dict[str, Any] = {
        "calls": [(call, [totals[call.pk][step] for step in STEPS]) for call in calls],
        "steps": [STEP_LABELS[step] for step in STEPS],
        "calls_url": reverse("army:call_list"),
    }
    if calls:
        latest = calls[0]
        funnel = call_funnel(latest)
        context["latest"] = latest
        context["latest_totals"] = [(STEP_LABELS[step], totals[latest.pk][step]) for step in STEPS]
        context["audience"] = funnel.audience
        context["funnel_chart"] = funnel_chart(latest, funnel)
    return context


def team_panel(user: Any) -> dict[str, Any] | None:
    """A team coordinator's: their teams, the requests and proofs waiting for them, and where
    their teams' open missions stand."""
    teams = rules.coordinated_team_ids(user)
    if not teams:
        return None
    lines = team_lines(teams)
    progress = mission_progress(teams)
    waiting_team = next((line.team for line in lines if line.requests), None)
    return {
        "teams": lines,
        "requests": sum(line.requests for line in lines),
        "requests_url": reverse("army:team_dashboard", args=[waiting_team.pk])
        if waiting_team
        else "",
        "proofs": proofs_waiting(teams),
        "review_url": reverse("army:review_queue"),
        "missions": mission_figures(teams),
        "missions_url": reverse("army:missions_run"),
        "progress": progress,
        "progress_chart": Chart(
            id="team-missions",
            title=_("Où en sont les missions ouvertes de vos équipes"),
            kind="bar",
            labels=[line.mission.title for line in progress],
            series=[
                Series(_("Acceptées"), [p.accepted for p in progress], "color-success"),
                Series(_("Preuves à relire"), [p.submitted for p in progress], "chart-1"),
                Series(_("En cours"), [p.working for p in progress], "chart-5"),
                Series(_("Places libres"), [p.free for p in progress], "color-border-strong"),
            ],
            stacked=True,
            horizontal=True,
            row_header=_("Mission"),
        )
        if progress
        else None,
    }


def volunteer_panel(user: Any) -> dict[str, Any] | None:
    """A volunteer's: the missions offered to them and the ones they took, their points week by
    week, their teams. Nothing of the base, nothing of anyone else."""
    volunteer = volunteer_of(user)
    if volunteer is None:
        return None
    missions = volunteer_missions(volunteer)
    points = volunteer_points(volunteer)
    statuses = dict(Claim.Status.choices)
    for claim in missions.claims:
        claim.status_label = statuses.get(claim.status, claim.status)  # type: ignore[attr-defined]
    return {
        "missions": missions,
        "points": points,
        "points_chart": Chart(
            id="volunteer-points",
            title=_("Vos points semaine par semaine"),
            kind="bar",
            labels=[
                _("sem. du %(day)s") % {"day": formats.date_format(monday, "d/m")}
                for monday in points.weeks
            ],
            series=[
                Series(_("Missions acceptées"), points.from_missions, "chart-1"),
                Series(_("Invitations confirmées"), points.from_invitations, "chart-3"),
            ],
            stacked=True,
            row_header=_("Semaine"),
        ),
        "memberships": memberships_of(volunteer),
        "missions_url": reverse("army:my_missions"),
        "leaderboard_url": reverse("army:leaderboard"),
        "teams_url": reverse("army:team_list"),
    }
