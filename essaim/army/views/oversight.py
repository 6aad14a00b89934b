"""HQ's watch over points: missions above the points cap awaiting a decision, sudden jumps in
a person's points, and the accepted work behind a person's points. Thin over
essaim.army.services.oversight; HQ only (essaim.army.rules.missions.can_decide_missions)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from essaim.army.models import Mission, Volunteer
from essaim.army.rules import missions as rules
from essaim.army.services import oversight
from essaim.army.services.missions import MissionError

APPROVALS_LIMIT = 100


def _hq_only(request: HttpRequest) -> None:
    if not rules.can_decide_missions(request.user):
        raise PermissionDenied


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """Missions whose points pass MISSION_MAX_POINTS, waiting for an HQ member's decision."""
    _hq_only(request)
    return render(
        request,
        "army/missions/approvals.html",
        {
            "missions": list(oversight.awaiting_approval()[:APPROVALS_LIMIT]),
            "cap": settings.MISSION_MAX_POINTS,
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    _hq_only(request)
    mission = get_object_or_404(Mission, pk=pk)
    decision = request.POST.get("decision")
    user = request.user
    try:
        if decision == "approve":
            notified = oversight.approve_mission(mission=mission, by=user, request=request)  # type: ignore[arg-type]
            messages.success(
                request,
                ngettext(
                    "Mission approuvée et publiée : %(n)d volontaire prévenu.",
                    "Mission approuvée et publiée : %(n)d volontaires prévenus.",
                    notified,
                )
                % {"n": notified},
            )
        elif decision == "refuse":
            oversight.refuse_mission(
                mission=mission,
                by=user,  # type: ignore[arg-type]
                reason=request.POST.get("reason", ""),
                request=request,
            )
            messages.success(request, _("Mission refusée : elle ne sera pas publiée."))
        else:
            messages.error(request, _("Choisissez d'approuver ou de refuser."))
    except MissionError as refused:
        messages.error(request, str(refused.message))
    return redirect("army:mission_approvals")


@login_required
def jumps(request: HttpRequest) -> HttpResponse:
    """People whose points jumped (the rule: oversight.points_jumps), each linked to their
    accepted work."""
    _hq_only(request)
    return render(
        request,
        "army/missions/points_jumps.html",
        {
            "jumps": oversight.points_jumps(),
            "factor": settings.MISSION_POINTS_JUMP_FACTOR,
            "floor": settings.MISSION_POINTS_JUMP_FLOOR,
            "weeks": oversight.BASELINE_WEEKS,
        },
    )


@login_required
def accepted_work(request: HttpRequest, pk: int) -> HttpResponse:
    _hq_only(request)
    volunteer = get_object_or_404(Volunteer.objects.select_related("user"), pk=pk)
    return render(
        request,
        "army/missions/accepted_work.html",
        {"volunteer": volunteer, "work": oversight.accepted_work(volunteer)},
    )
