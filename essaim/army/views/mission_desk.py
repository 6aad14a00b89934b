"""Pages that run missions (coordinators for their teams, HQ for all): the missions run,
a new mission, publication, the review queue, a review and the proofs' screenshots. Thin:
parse, authorize (rules/missions.py), call a service, render. A mission or claim the user may not
reach is a 404. Closing a mission and its kit are in kits.py, HQ's oversight in oversight.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.accounts.models import Team
from essaim.army.forms.missions import KIT_FIELDS, MissionForm
from essaim.army.models import (
    Claim,
    Mission,
    Proof,
)
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.lib.sorting import SortColumn, choice_order, sorting_from

QUEUE_LIMIT = 50


def _post_only(request: HttpRequest) -> None:
    if request.method != "POST":
        raise Http404


# The list's columns people may sort by (`?tri=`). A national mission has no team: its scope
# sorts as an empty name, before every team's.
MISSION_SORTS = (
    SortColumn("titre", "title", text=True),
    SortColumn("portee", Coalesce("team__name", Value("")), text=True),
    SortColumn("etat", choice_order("status", Mission.Status.values)),
    SortColumn("echeance", "deadline"),
    SortColumn("creee", "created_at", descending_first=True),
)


@login_required
def missions_run(request: HttpRequest) -> HttpResponse:
    """The missions this user runs: all for HQ, their teams' for a coordinator."""
    scope = rules.review_scope(request.user)
    if scope is not None and not scope:
        raise PermissionDenied
    sorting = sorting_from(request, MISSION_SORTS, "-creee")
    qs = sorting.apply(Mission.objects.select_related("role", "team"))
    if scope is not None:
        qs = qs.filter(team_id__in=scope)
    return render(
        request,
        "army/missions/missions_run.html",
        {
            "missions": list(qs[:100]),
            "sorting": sorting,
            "is_hq": scope is None,
            "cap": settings.MISSION_MAX_POINTS,
        },
    )


@login_required
def mission_create(request: HttpRequest) -> HttpResponse:
    if not rules.can_review(request.user):
        raise PermissionDenied
    form = MissionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team_id = int(data["team"]) if data["team"] else None
        if not rules.can_create_mission(request.user, team_id):
            raise PermissionDenied
        try:
            svc.create_mission(
                by=request.user,  # type: ignore[arg-type]
                kind=data["kind"],
                title=data["title"],
                brief=data["brief"],
                role=data["role"],
                quota=data["quota"],
                deadline=data["deadline"],
                team=Team.objects.get(pk=team_id) if team_id else None,
                targeting=svc.Targeting(stages=data["stages"], departements=data["departements"]),
                talking_point=data["talking_point"],
                points=data["points"],
                per_volunteer_minutes=data["per_volunteer_minutes"],
                **{k: data[k] for k in KIT_FIELDS},
            )
        except svc.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Mission enregistrée en brouillon."))
            return redirect("army:missions_run")
    return render(request, "army/missions/mission_form.html", {"form": form})


@login_required
def mission_publish(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    mission = get_object_or_404(Mission, pk=pk)
    if not rules.can_run_mission(request.user, mission):
        raise Http404
    try:
        notified = svc.publish_mission(mission=mission, by=request.user)  # type: ignore[arg-type]
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
    else:
        if mission.status == Mission.Status.AWAITING:
            messages.warning(
                request,
                _(
                    "Mission envoyée au QG : ses %(points)d points dépassent le plafond de "
                    "%(cap)d. Elle sera publiée quand un membre du QG l'aura approuvée."
                )
                % {"points": mission.points, "cap": settings.MISSION_MAX_POINTS},
            )
        else:
            messages.success(
                request,
                ngettext(
                    "Mission publiée : %(n)d volontaire prévenu.",
                    "Mission publiée : %(n)d volontaires prévenus.",
                    notified,
                )
                % {"n": notified},
            )
    return redirect("army:missions_run")


# --- Review -------------------------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not rules.can_review(request.user):
        raise PermissionDenied
    scope = rules.review_scope(request.user)
    claims = list(
        svc.review_queue(teams=scope)
        .select_related("mission", "mission__team", "volunteer")
        .prefetch_related(
            Prefetch(
                "proofs",
                queryset=Proof.objects.prefetch_related("links").order_by("-submitted_at", "-id"),
            )
        )[:QUEUE_LIMIT]
    )
    return render(request, "army/missions/review_queue.html", {"claims": claims})


@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    claim = get_object_or_404(Claim.objects.select_related("mission"), pk=pk)
    if not rules.can_review_claim(request.user, claim):
        raise Http404
    try:
        if request.POST.get("decision") == "accept":
            svc.accept_claim(claim=claim, by=request.user)  # type: ignore[arg-type]
            messages.success(request, _("Preuve acceptée."))
        elif request.POST.get("decision") == "return":
            svc.return_claim(
                claim=claim,
                by=request.user,  # type: ignore[arg-type]
                feedback=request.POST.get("feedback", ""),
            )
            messages.success(request, _("Preuve renvoyée au volontaire."))
        else:
            messages.error(request, _("Choisissez d'accepter ou de renvoyer."))
    except svc.MissionError as refused:
        messages.error(request, str(refused.message))
    return redirect("army:review_queue")


@login_required
def screenshot(request: HttpRequest, pk: int) -> FileResponse:
    """A proof's screenshot, to its author and to the mission's reviewers only."""
    proof = get_object_or_404(
        Proof.objects.select_related("claim__mission").exclude(screenshot=""), pk=pk
    )
    if not (
        rules.owns_claim(request.user, proof.claim)
        or rules.can_review_claim(request.user, proof.claim)
    ):
        raise Http404
    response = FileResponse(proof.screenshot.open("rb"))
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response
